using System.Text;

namespace Workstation.Roster.Tests;

/// <summary>The one-line host commands: equal to the golden file, and safe to hand to a shell.</summary>
public class HostCommandsTests
{
    /// <summary>The site values tests/golden/host-commands.txt was generated with (its "site" line).</summary>
    private static readonly SiteSettings GoldenSite = new(
        RepoUrl: "file:///srv/fixture/repo.git",
        OidcIssuer: "https://auth.example.test/application/o/kubernetes/",
        OidcClientId: "kubernetes",
        ClusterName: "fixture",
        ClusterServer: "https://k8s.example.test:6443",
        VaultAddr: "https://vault.example.test",
        T3Command: "/usr/bin/sleep infinity");

    /// <summary>The claude_memory URL of the golden stack (which stages every secret, none rotated).</summary>
    public const string GoldenMemoryUrl = "https://memory.example.test/mcp";

    private static IReadOnlyList<(string Key, string Command)> Commands(DerivedRoster roster, SiteSettings site) =>
        HostCommands.Lines(roster, site, repoToken: true, GoldenMemoryUrl);

    private static DerivedRoster Derive(string yaml) => Derivation.Derive(RosterLoader.Load(yaml).ModelOrThrow());

    [Fact]
    public void The_golden_roster_gives_exactly_the_golden_commands()
    {
        var expected = File.ReadAllLines(TestFiles.GoldenCommands).Where(l => l.Length > 0).ToList();
        var actual = Commands(Derive(File.ReadAllText(TestFiles.GoldenRoster)), GoldenSite).Select(c => $"{c.Key}\t{c.Command}").ToList();
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++) Assert.Equal(expected[i], actual[i]);
    }

    public static TheoryData<string> ValidRosters() => ["golden", "shipped", "generated", "edge-names"];

    private static string Roster(string which) => which switch
    {
        "golden" => File.ReadAllText(TestFiles.GoldenRoster),
        "shipped" => File.ReadAllText(TestFiles.ShippedRoster),
        "generated" => TestFiles.Generated(200),
        _ => "settings:\n  k8s_username_claim: name\n  k8s_username_prefix: \"oidc:\"\n  privileged_groups: [adm, _lxd]\n" +
             "admin:\n  os_user: a-b-9\n  authentik_user: A.b@c-d_e\n  k8s_user: \"x:y@z\"\n  uid: 59999\n  adopt: true\n  ports: { t3: 1024, playwright: 65535 }\n" +
             "users:\n  " + new string('z', 32) + ":\n    authentik_user: " + new string('Q', 64) + "\n    k8s_user: q\n    email: a.b+c%d@e-f.g.example\n" +
             "    tier: namespace-owner\n    namespaces: [" + new string('n', 63) + ", a]\n    uid: 1000\n    revoke_groups: [_x-y_, sudo]\n    private_home: true\n" +
             "    ports: { t3: 1025, playwright: 65534 }\n",
    };

    [Theory]
    [MemberData(nameof(ValidRosters))]
    public void Commands_for_valid_rosters_have_no_unquoted_shell_metacharacters(string which)
    {
        var roster = Derive(Roster(which));
        foreach (var (key, command) in Commands(roster, GoldenSite).Where(c => c.Key != "install"))
        {
            var (words, unquoted) = ShellWords.Split(command);
            Assert.True(unquoted.Count == 0, $"{key}: unquoted {string.Join(' ', unquoted)} in {command}");
            Assert.Equal(HostCommands.Cli, words[0]);
            if (key.Contains(':', StringComparison.Ordinal))
                Assert.Equal(key.Split(':')[1], words[key.StartsWith("suspend:", StringComparison.Ordinal) ? 3 : 4]);
        }
        var maps = ShellWords.Split(HostCommands.Maps(roster.Users)).Words;
        Assert.Equal(roster.Users.Select(u => $"{u.OsUser}:{u.AuthentikUser}:{u.Ports.T3}"), maps.Skip(3));
    }

    [Fact]
    public void Apply_words_carry_each_value_as_one_argument()
    {
        var roster = Derive(File.ReadAllText(TestFiles.GoldenRoster));
        var wiz = roster.Users.Single(u => u.OsUser == "wiz");
        Assert.Equal(
            [HostCommands.Cli, "user", "account", "apply", "wiz", "--tier", "admin", "--uid", "2000", "--groups", "code-shared,docker,sudo"],
            ShellWords.Split(HostCommands.Account(wiz)).Words);
        Assert.Equal(
            [HostCommands.Cli, "user", "services", "apply", "wiz", "--t3-port", "3773", "--playwright-port", "8931",
                "--memory-high", "10G", "--memory-max", "14G", "--cpu-weight", "200", "--tasks-max", "8192"],
            ShellWords.Split(HostCommands.Services(wiz)).Words);
        Assert.Equal([HostCommands.Cli, "user", "code", "apply", "wiz"], ShellWords.Split(HostCommands.Code(wiz)).Words);
    }

    [Fact]
    public void Revoke_groups_and_private_home_reach_the_apply_as_their_own_words()
    {
        var roster = Derive(TestFiles.Head + TestFiles.User("bea", 3774, 8932, extra: "    revoke_groups: [sudo, docker]\n    private_home: true\n"));
        var bea = roster.Users.Single(u => u.OsUser == "bea");
        Assert.Equal(
            [HostCommands.Cli, "user", "account", "apply", "bea", "--tier", "power-user", "--revoke-groups", "docker,sudo", "--private-home"],
            ShellWords.Split(HostCommands.Account(bea)).Words);
        // Without the fields the command is the one the golden file pins: nothing to review, nothing sent.
        Assert.DoesNotContain("--revoke-groups", HostCommands.Account(roster.Users.Single(u => u.OsUser == "wiz")), StringComparison.Ordinal);
    }

    [Fact]
    public void The_edge_user_snapshot_url_and_extra_privileged_groups_reach_the_site_step_only_when_set()
    {
        var settings = RosterSettings.Default with { PrivilegedGroups = ["lxd", "adm"] };
        var words = ShellWords.Split(HostCommands.Site(GoldenSite with { EdgeUser = "t3-edge", SnapshotUrl = "https://chrome.example.test/state", RestartIdleMinutes = 45 }, settings, "wiz")).Words;
        Assert.Equal("t3-edge", words[words.IndexOf("--edge-user") + 1]);
        Assert.Equal("adm,lxd", words[words.IndexOf("--privileged-groups") + 1]);
        Assert.Equal("https://chrome.example.test/state", words[words.IndexOf("--snapshot-url") + 1]);
        Assert.Equal("wiz", words[words.IndexOf("--admin") + 1]);
        Assert.Equal("45", words[words.IndexOf("--restart-idle-minutes") + 1]);
        var plain = HostCommands.Site(GoldenSite, RosterSettings.Default, "wiz");
        Assert.DoesNotContain("--restart-idle-minutes", plain, StringComparison.Ordinal);
        Assert.DoesNotContain("--edge-user", plain, StringComparison.Ordinal);
        Assert.DoesNotContain("--snapshot-url", plain, StringComparison.Ordinal);
        Assert.DoesNotContain("--privileged-groups", plain, StringComparison.Ordinal);
    }

    [Fact]
    public void Site_values_survive_the_shell_whatever_they_contain()
    {
        var hostile = "x'; rm -rf / # $(reboot) `id` \"q\" \\ \t|&<>*?[]{}~!";
        var site = GoldenSite with { T3Command = hostile, ClusterName = "", VaultAddr = "it's" };
        var (words, unquoted) = ShellWords.Split(HostCommands.Site(site, RosterSettings.Default, "wiz"));
        Assert.Empty(unquoted);
        Assert.Equal(hostile, words[words.IndexOf("--t3-command") + 1]);
        Assert.Equal("", words[words.IndexOf("--cluster-name") + 1]);
        Assert.Equal("it's", words[words.IndexOf("--vault-addr") + 1]);
    }

    [Fact]
    public void Quote_round_trips_random_strings()
    {
        const string alphabet = "ab Z09_-./:@%+=,'\"\\$`;&|<>(){}[]*?!~#\t\n\u00e9\u0435";
        var random = new Random(7);
        for (var i = 0; i < 2000; i++)
        {
            var chars = new char[random.Next(0, 12)];
            for (var j = 0; j < chars.Length; j++) chars[j] = alphabet[random.Next(alphabet.Length)];
            var value = new string(chars);
            var (words, unquoted) = ShellWords.Split("cmd " + HostCommands.Quote(value));
            Assert.Empty(unquoted);
            Assert.Equal(["cmd", value], words);
        }
    }

    [Fact]
    public void Automation_never_cuts_the_admin_the_admins_steps_have_no_delete()
    {
        var roster = Derive(File.ReadAllText(TestFiles.GoldenRoster));
        foreach (var u in roster.Users)
        {
            Assert.Equal(u.IsAdmin, HostCommands.Suspend(u) is null);
            Assert.Equal(u.IsAdmin, HostCommands.StopServices(u) is null);
        }
        // By hand it takes --force, and the host still checks the admin named by the site step.
        Assert.Equal([HostCommands.Cli, "user", "suspend", "wiz", "--force"], ShellWords.Split(HostCommands.Manual.ForceSuspend("wiz")).Words);
    }

    [Fact]
    public void Each_host_line_runs_its_steps_verb_and_a_retire_deletes_the_cut_first()
    {
        var alice = Derive(File.ReadAllText(TestFiles.GoldenRoster)).Users.Single(u => u.OsUser == "alice");
        var none = new Dictionary<SharedSecret, int>();
        foreach (var (step, line) in new[] { (HostStep.Account, HostCommands.Account(alice)), (HostStep.Code, HostCommands.Code(alice)),
                     (HostStep.Services, HostCommands.Services(alice)), (HostStep.Secrets, HostCommands.Secrets(alice, alice.Secrets, none, GoldenMemoryUrl)) })
            Assert.StartsWith($"{HostCommands.Cli} {step.CreateVerb} alice", line, StringComparison.Ordinal);
        Assert.Equal([HostCommands.Suspend(alice), HostCommands.StopServices(alice), HostCommands.RemoveSecrets(alice), HostCommands.Suspend(alice)],
            new[] { HostStep.Account, HostStep.Services, HostStep.Secrets, HostStep.Cut }.Select(s => HostCommands.Delete(s, alice)));
        Assert.Null(HostCommands.Delete(HostStep.Code, alice));
        // The engine deletes dependents first: the cut alone, then secrets, then code and services, then the account.
        Assert.Equal([["cut"], ["secrets"], ["code", "services"], ["account"]],
            HostStep.DeleteOrder(HostStep.For(isAdmin: false, stagesSecrets: true)).Select(r => r.Select(s => s.Name)));
        Assert.Equal([["cut"], ["code", "services"], ["account"]],
            HostStep.DeleteOrder(HostStep.For(isAdmin: false, stagesSecrets: false)).Select(r => r.Select(s => s.Name)));
        // Every step's dependencies come before it in the list (the order the program creates them in).
        Assert.All(HostStep.All.Select((s, i) => (s, i)), p => Assert.All(p.s.After, d => Assert.Contains(d, HostStep.All.Take(p.i).Select(s => s.Name))));
    }

    /// <summary>
    /// Issue 24 §5: the account step carries the person's bindings from another stack, sorted
    /// (namespaces, then ClusterRoleBindings by name), so the host can name them after the cut
    /// and the line does not change with the roster's order.
    /// </summary>
    [Fact]
    public void The_account_step_carries_another_stacks_bindings_sorted()
    {
        var yaml = File.ReadAllText(TestFiles.GoldenRoster).Replace(
            "    namespaces: [team-b]\n",
            "    namespaces: [team-c, team-b]\n    external_bindings: { team-c: ns-owner.bob, team-b: oidc-ns-owner-bob }\n    cluster_bindings: [z-viewer-bob, a-reader-bob]\n",
            StringComparison.Ordinal);
        var bob = Derive(yaml).Users.Single(u => u.OsUser == "bob");
        var (words, unquoted) = ShellWords.Split(HostCommands.Account(bob));
        Assert.Empty(unquoted);
        Assert.Equal(["--external-binding", "team-b/oidc-ns-owner-bob", "--external-binding", "team-c/ns-owner.bob",
            "--cluster-binding", "a-reader-bob", "--cluster-binding", "z-viewer-bob"], words.Skip(words.IndexOf("--external-binding")));
        // Without bindings the line is the golden one: no option at all.
        var alice = Derive(yaml).Users.Single(u => u.OsUser == "alice");
        Assert.DoesNotContain("binding", HostCommands.Account(alice), StringComparison.Ordinal);
    }

    [Fact]
    public void The_manual_user_apply_carries_the_account_and_services_options_of_the_program_steps()
    {
        var roster = Derive(File.ReadAllText(TestFiles.GoldenRoster));
        var wiz = roster.Users.Single(u => u.OsUser == "wiz");
        var words = ShellWords.Split(HostCommands.Manual.UserApply(wiz)).Words;
        Assert.Equal([HostCommands.Cli, "user", "apply", "wiz"], words.Take(4));
        Assert.Equal(ShellWords.Split(HostCommands.Account(wiz)).Words.Skip(5), words.Skip(4).Take(6));
        Assert.Equal(ShellWords.Split(HostCommands.Services(wiz)).Words.Skip(5), words.Skip(10));
    }

    [Fact]
    public void The_migration_carries_the_services_steps_options_and_the_manual_verbs_quote_their_user()
    {
        var wiz = Derive(File.ReadAllText(TestFiles.GoldenRoster)).Users.Single(u => u.OsUser == "wiz");
        var words = ShellWords.Split(HostCommands.Manual.Migrate(wiz)).Words;
        Assert.Equal([HostCommands.Cli, "user", "migrate", "wiz"], words.Take(4));
        Assert.Equal(ShellWords.Split(HostCommands.Services(wiz)).Words.Skip(5), words.Skip(4));
        Assert.Equal([HostCommands.Cli, "user", "cutover", "rollback", "a b"], ShellWords.Split(HostCommands.Manual.CutoverRollback("a b")).Words);
        Assert.Equal([HostCommands.Cli, "user", "migrate", "rollback", "wiz"], ShellWords.Split(HostCommands.Manual.MigrateRollback("wiz")).Words);
    }

    [Fact]
    public void The_secrets_line_names_what_a_person_holds_and_rotations_only_of_those_never_a_value()
    {
        var wiz = Derive(File.ReadAllText(TestFiles.GoldenRoster)).Users.Single(u => u.OsUser == "wiz");
        var rotate = new Dictionary<SharedSecret, int> { [SharedSecret.SnapshotToken] = 2, [SharedSecret.HaUrl] = 5, [SharedSecret.BeadsKey] = 0 };
        var words = ShellWords.Split(HostCommands.Secrets(wiz, [SharedSecret.SnapshotToken, SharedSecret.BeadsKey, SharedSecret.MemoryKey], rotate, GoldenMemoryUrl)).Words;
        // ha-url is not held, so its serial is not sent; a serial of 0 is the default and not sent either.
        Assert.Equal([HostCommands.Cli, "user", "secrets", "apply", "wiz", "--secrets", "beads-key,memory-key,snapshot-token", "--values-stdin",
            "--rotate", "snapshot-token=2", "--memory-url", GoldenMemoryUrl], words);
    }

    [Fact]
    public void A_person_who_holds_nothing_gets_a_secrets_line_without_stdin_and_the_memory_url_only_with_its_key()
    {
        var wiz = Derive(File.ReadAllText(TestFiles.GoldenRoster)).Users.Single(u => u.OsUser == "wiz");
        Assert.Equal($"{HostCommands.Cli} user secrets apply wiz",
            HostCommands.Secrets(wiz, [], new Dictionary<SharedSecret, int> { [SharedSecret.HaUrl] = 3 }, GoldenMemoryUrl));
        Assert.Equal($"{HostCommands.Cli} user secrets apply wiz --secrets ha-url --values-stdin",
            HostCommands.Secrets(wiz, [SharedSecret.HaUrl], new Dictionary<SharedSecret, int>(), GoldenMemoryUrl));
        // The admin is never cut automatically: no delete for them.
        Assert.Null(HostCommands.RemoveSecrets(wiz));
    }

    private static readonly (string, byte[])[] HostFiles =
    [
        ("base/managed-settings.json", "{}\n"u8.ToArray()),
        ("base/skel/zshrc", "# zsh\n"u8.ToArray()),
        ("bin/workstation", "#!/bin/bash\n"u8.ToArray()),
        ("lib/base.sh", "# base\n"u8.ToArray()),
        ("lib/user.sh", "# user\n"u8.ToArray()),
        ("npm-packages.txt", "x@1.0.0\n"u8.ToArray()),
        ("packages.txt", "git\n"u8.ToArray()),
    ];

    [Fact]
    public void The_base_inputs_hash_follows_the_base_inputs_and_nothing_else()
    {
        var hash = HostCommands.BaseInputsSha256(HostFiles);
        Assert.Matches("^[0-9a-f]{64}$", hash);
        Assert.Equal(hash, HostCommands.BaseInputsSha256(HostFiles.Reverse()));
        string With(string path, string content) =>
            HostCommands.BaseInputsSha256(HostFiles.Select(f => f.Item1 == path ? (path, Encoding.UTF8.GetBytes(content)) : f));
        Assert.Equal(hash, With("lib/user.sh", "# changed\n"));
        Assert.Equal(hash, With("bin/workstation", "#!/bin/sh\n"));
        foreach (var input in new[] { "base/skel/zshrc", "lib/base.sh", "npm-packages.txt", "packages.txt" })
            Assert.NotEqual(hash, With(input, "changed\n"));
        // A file added under base/ is an input too; one beside it (base.txt) is not.
        Assert.NotEqual(hash, HostCommands.BaseInputsSha256(HostFiles.Append(("base/skel/new", [1]))));
        Assert.Equal(hash, HostCommands.BaseInputsSha256(HostFiles.Append(("base.txt", [1]))));
    }

    [Fact]
    public void The_base_step_carries_the_hash_and_the_swap_size_as_their_own_words()
    {
        var hash = new string('a', 64);
        Assert.Equal([HostCommands.Cli, "base", "apply", "--inputs-sha256", hash], ShellWords.Split(HostCommands.Base(hash, new BaseSettings())).Words);
        Assert.Equal([HostCommands.Cli, "base", "apply", "--inputs-sha256", hash, "--swap-size", "8G"], ShellWords.Split(HostCommands.Base(hash, new BaseSettings { SwapSize = "8G" })).Words);
        Assert.Equal([HostCommands.Cli, "base", "apply", "--inputs-sha256", hash, "--swap-size", "8G", "--swappiness", "10", "--tools-mirror", "https://mirror.example/tools?x=1&y=2"],
            ShellWords.Split(HostCommands.Base(hash, new BaseSettings { SwapSize = "8G", Swappiness = 10, ToolsMirror = "https://mirror.example/tools?x=1&y=2" })).Words);
    }

    [Theory]
    [InlineData("https://mirror.example/tools")]
    [InlineData("http://10.0.0.5:8080/tools/")]
    [InlineData("/srv/tools")]
    public void A_tools_mirror_is_a_url_or_an_absolute_folder(string mirror) => Assert.Matches(Rules.ToolsMirror(), mirror);

    [Theory]
    [InlineData("srv/tools")]
    [InlineData("ftp://mirror.example/tools")]
    [InlineData("https://user:secret@mirror.example/tools")]
    [InlineData("/srv/tools; rm -rf /")]
    [InlineData("/srv/tools\n")]
    [InlineData("")]
    public void Anything_else_is_not_a_tools_mirror(string mirror) => Assert.DoesNotMatch(Rules.ToolsMirror(), mirror.Replace("\\n", "\n", StringComparison.Ordinal));

    [Theory]
    [InlineData("t3@1.4.2")]
    [InlineData("@playwright/mcp@0.0.76")]
    [InlineData("@acme/t3-server@2.0.0-rc.1")]
    public void A_pinned_npm_package_names_one_exact_version(string spec) => Assert.Matches(Rules.NpmPin(), spec);

    [Theory]
    [InlineData("t3@latest")]
    [InlineData("t3@^1.4.2")]
    [InlineData("t3@1.4")]
    [InlineData("t3")]
    [InlineData("t3@1.4.2 --foreground-scripts")]
    [InlineData("t3@1.4.2\n")]
    [InlineData("https://evil.example/t3.tgz")]
    public void A_tag_a_range_or_anything_else_is_not_a_pin(string spec) => Assert.DoesNotMatch(Rules.NpmPin(), spec.Replace("\\n", "\n", StringComparison.Ordinal));

    [Fact]
    public void The_splitter_finds_what_it_should()
    {
        Assert.Equal([";", "$"], ShellWords.Split("a;b $c 'd;e' \"f\"").Unquoted);
        Assert.Equal(["a", "b c", "d", ""], ShellWords.Split("a 'b c' d ''").Words);
        Assert.Equal(["$"], ShellWords.Split("\"$x\"").Unquoted);
    }

    private static bool Covers(IReadOnlyList<string> inputs, string path) =>
        inputs.Any(i => path == i || path.StartsWith(i + "/", StringComparison.Ordinal));

    /// <summary>
    /// Issue 24 §9: a step's host revision covers what its verb runs. Every file bin/workstation
    /// sources (and those source) is in every step's inputs; every host/ file a unit template
    /// runs is in the services step's; and every host/ path lib/ names is in the services step's
    /// inputs or the base step's, so no file the CLI reads is outside both.
    /// </summary>
    [Fact]
    public void S9_Each_steps_host_revision_covers_the_files_its_verb_sources_and_runs()
    {
        var host = Path.Combine(TestFiles.Root, "host");
        var sourced = System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(Path.Combine(host, "bin", "workstation")), "source \"\\$WS_LIB/([^\"]+)\"")
            .Select(m => "lib/" + m.Groups[1].Value).ToList();
        Assert.Contains("lib/services.sh", sourced);
        sourced.Add("lib/rules.sh"); // common.sh sources it
        sourced.Add("bin/workstation");
        var withCreate = HostStep.All.Where(s => s.CreateVerb is not null).ToList();
        Assert.Equal(4, withCreate.Count);
        foreach (var step in withCreate)
            Assert.All(sourced, f => Assert.True(Covers(HostCommands.StepInputs(step), f), $"{step.Name} does not cover {f}"));
        Assert.Empty(HostCommands.StepInputs(HostStep.Cut));

        var run = Directory.GetFiles(Path.Combine(host, "units")).SelectMany(u =>
                System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(u), HostCommands.InstallDir + "/([^\\s]+)").Select(m => m.Groups[1].Value))
            .Distinct().ToList();
        Assert.Contains("bin/t3-serve-run", run);
        Assert.All(run, f => Assert.True(Covers(HostCommands.StepInputs(HostStep.Services), f), $"services does not cover {f}, which a unit runs"));

        var named = Directory.GetFiles(Path.Combine(host, "lib"), "*.sh", SearchOption.AllDirectories).SelectMany(f =>
                System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(f), "\\$WS_ROOT\"?/([A-Za-z0-9._/-]+)").Select(m => m.Groups[1].Value.TrimEnd('/')))
            .Distinct().ToList();
        Assert.Contains("units", named);
        Assert.All(named, f => Assert.True(withCreate.Any(s => Covers(HostCommands.StepInputs(s), f)) || Covers(HostCommands.BaseInputs, f),
            $"lib/ reads host/{f}, which neither a step's revision nor the base inputs cover"));
    }
}

/// <summary>
/// Splits a command line the way a POSIX shell would into words (single quotes, double quotes and
/// backslash), and lists the metacharacters that the shell would act on: unquoted, or '$', '`' and
/// '\' inside double quotes.
/// </summary>
internal static class ShellWords
{
    private const string Meta = "|&;<>()$`*?[]#~!{}\n";

    public static (List<string> Words, List<string> Unquoted) Split(string command)
    {
        var words = new List<string>();
        var unquoted = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < command.Length; i++)
        {
            var c = command[i];
            switch (c)
            {
                case ' ' or '\t':
                    if (inWord) words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                    break;
                case '\'':
                    inWord = true;
                    var close = command.IndexOf('\'', i + 1);
                    if (close < 0) throw new FormatException("unterminated single quote in " + command);
                    word.Append(command, i + 1, close - i - 1);
                    i = close;
                    break;
                case '"':
                    inWord = true;
                    for (i++; i < command.Length && command[i] != '"'; i++)
                    {
                        if (command[i] is '$' or '`' or '\\') unquoted.Add(command[i].ToString());
                        word.Append(command[i]);
                    }
                    if (i >= command.Length) throw new FormatException("unterminated double quote in " + command);
                    break;
                case '\\':
                    inWord = true;
                    if (++i < command.Length) word.Append(command[i]);
                    break;
                default:
                    inWord = true;
                    if (Meta.Contains(c)) unquoted.Add(c.ToString());
                    word.Append(c);
                    break;
            }
        }
        if (inWord) words.Add(word.ToString());
        return (words, unquoted);
    }
}

using System.Text.Json;
using Workstation.Roster.Access;

namespace Workstation.Roster.Tests;

/// <summary>
/// `roster diff`: per person, what they gain and lose on the host, in the cluster, in Vault and at
/// the edge, with the changes a reviewer should look at twice. Golden files in tests/golden/diff:
/// each case's head roster (tests/golden/roster.yaml with one change) and its Markdown.
/// </summary>
public class AccessDiffTests
{
    private static string Golden(string name) => Path.Combine(TestFiles.Root, "tests", "golden", "diff", name);

    private static DerivedRoster Derive(string path) => Derivation.Derive(RosterLoader.LoadFile(path).ModelOrThrow());

    /// <summary>(case, base file, head file) with paths relative to the repository, as the golden headers show them.</summary>
    public static TheoryData<string, string, string> Cases() => new()
    {
        { "add", "tests/golden/roster.yaml", "tests/golden/diff/add.yaml" },
        { "remove", "tests/golden/roster.yaml", "tests/golden/diff/remove.yaml" },
        { "retire", "tests/golden/roster.yaml", "tests/golden/diff/retire.yaml" },
        { "bring-back", "tests/golden/diff/bring-back.yaml", "tests/golden/roster.yaml" },
        { "tier", "tests/golden/roster.yaml", "tests/golden/diff/tier.yaml" },
        { "port", "tests/golden/roster.yaml", "tests/golden/diff/port.yaml" },
        { "namespace", "tests/golden/roster.yaml", "tests/golden/diff/namespace.yaml" },
        { "budget", "tests/golden/roster.yaml", "tests/golden/diff/budget.yaml" },
        { "secrets", "tests/golden/roster.yaml", "tests/golden/diff/secrets.yaml" },
        { "leaver-external", "tests/golden/diff/external.yaml", "tests/golden/diff/retire.yaml" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_case_gives_exactly_its_golden_markdown(string name, string @base, string head)
    {
        var diff = AccessDiffs.Diff(Derive(Path.Combine(TestFiles.Root, @base)), Derive(Path.Combine(TestFiles.Root, head)));
        Assert.Equal(File.ReadAllText(Golden(name + ".md")), AccessDiffs.Markdown(diff, @base, head));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_cli_prints_the_same_and_the_json_is_deterministic(string name, string @base, string head)
    {
        var cwd = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(TestFiles.Root);
        try
        {
            var (code, stdout, _) = Run("diff", @base, head);
            Assert.Equal(0, code);
            Assert.Equal(File.ReadAllText(Golden(name + ".md")), stdout);
            var (_, json1, _) = Run("diff", @base, head, "--json");
            var (_, json2, _) = Run("diff", "--json", @base, head);
            Assert.Equal(json1, json2);
            using var doc = JsonDocument.Parse(json1);
            Assert.NotEmpty(doc.RootElement.GetProperty("people").EnumerateArray());
        }
        finally
        {
            Directory.SetCurrentDirectory(cwd);
        }
    }

    [Fact]
    public void A_roster_against_itself_changes_nothing()
    {
        var r = Derive(TestFiles.GoldenRoster);
        var diff = AccessDiffs.Diff(r, r);
        Assert.Empty(diff.People);
        Assert.Empty(diff.Warnings);
        Assert.Equal("## Roster access diff: `a` → `b`\n\nNo change in anyone's access.\n", AccessDiffs.Markdown(diff, "a", "b"));
    }

    [Fact]
    public void Reordering_people_changes_nothing()
    {
        var text = File.ReadAllText(TestFiles.GoldenRoster);
        var alice = text[text.IndexOf("  alice:\n", StringComparison.Ordinal)..text.IndexOf("  bob:\n", StringComparison.Ordinal)];
        var reordered = text.Replace(alice, "", StringComparison.Ordinal).Replace("retired:\n", alice + "retired:\n", StringComparison.Ordinal);
        Assert.NotEqual(text, reordered);
        var diff = AccessDiffs.Diff(Derive(TestFiles.GoldenRoster), Derivation.Derive(RosterLoader.Load(reordered).ModelOrThrow()));
        Assert.Empty(diff.People);
    }

    [Fact]
    public void Each_warning_fires_for_its_change()
    {
        var golden = File.ReadAllText(TestFiles.GoldenRoster);
        var before = Derivation.Derive(RosterLoader.Load(golden).ModelOrThrow());
        string Warnings(string head) =>
            string.Join('\n', AccessDiffs.Diff(before, Derivation.Derive(RosterLoader.Load(head).ModelOrThrow())).Warnings.Select(w => $"{w.OsUser}: {w.Text}"));

        Assert.Contains("alice: revoke_groups takes the group docker away",
            Warnings(golden.Replace("    tier: power-user\n", "    tier: power-user\n    revoke_groups: [docker]\n", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Contains("carol: purge: the home is archived",
            Warnings(golden.Replace("carol: { uid: 2003,", "carol: { uid: 2003, purge: true,", StringComparison.Ordinal)), StringComparison.Ordinal);
        // A new admin gains the admin tier's privileged groups.
        var newAdmin = golden.Replace("  os_user: wiz\n  authentik_user: wiz.admin\n  k8s_user: wiz\n", "  os_user: zoe\n  authentik_user: zoe.admin\n  k8s_user: zoe\n", StringComparison.Ordinal);
        Assert.Contains("zoe: gains the privileged group sudo (root-equivalent on the devvm)", Warnings(newAdmin), StringComparison.Ordinal);
        Assert.Contains("wiz: removed outright", Warnings(newAdmin), StringComparison.Ordinal);
    }

    [Fact]
    public void A_git_revision_that_is_not_there_is_a_clear_error()
    {
        var (code, _, stderr) = Run("diff", "no-such-revision-xyz:roster.yaml", TestFiles.GoldenRoster);
        Assert.Equal(2, code);
        Assert.Contains("no-such-revision-xyz:roster.yaml: git show failed", stderr, StringComparison.Ordinal);
        var (code2, _, stderr2) = Run("diff", "/no/such/file.yaml", TestFiles.GoldenRoster);
        Assert.Equal(2, code2);
        Assert.Contains("/no/such/file.yaml: no such file, and not a git revision of one (REV:PATH)", stderr2, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_roster_on_either_side_is_reported_with_file_line_and_field()
    {
        var bad = Path.Combine(Path.GetTempPath(), $"roster-diff-bad-{Environment.ProcessId}.yaml");
        File.WriteAllText(bad, File.ReadAllText(TestFiles.GoldenRoster).Replace("    tier: power-user\n", "    tier: wizard\n", StringComparison.Ordinal));
        try
        {
            var (code, stdout, stderr) = Run("diff", TestFiles.GoldenRoster, bad);
            Assert.Equal(1, code);
            Assert.Equal("", stdout);
            Assert.Contains($"{bad}:19:11: users.alice.tier: unknown tier 'wizard'", stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(bad);
        }
    }

    /// <summary>
    /// §5 (issue 24): bob leaves while another stack's RoleBinding makes him admin in team-c.
    /// Offboarding leaves that binding in place, so the diff must not call it revoked: it is
    /// listed under "Still to remove by hand" with the change to make where it is owned.
    /// </summary>
    [Theory]
    [InlineData("tests/golden/diff/retire.yaml")]
    [InlineData("tests/golden/diff/remove.yaml")]
    public void S5_a_leavers_external_binding_is_still_to_remove_by_hand_not_revoked(string head)
    {
        var diff = AccessDiffs.Diff(Derive(Golden("external.yaml")), Derive(Path.Combine(TestFiles.Root, head)));
        var bob = diff.People.Single(p => p.OsUser == "bob");
        Assert.DoesNotContain(bob.Changes, c => c.Text.Contains("made-elsewhere", StringComparison.Ordinal));
        var left = Assert.Single(bob.StillToRemove);
        Assert.Equal(("RoleBinding", "team-c", "made-elsewhere", "User", "bob@example.test"), (left.Kind, left.Namespace, left.Name, left.Subject.Kind, left.Subject.Name));
        Assert.DoesNotContain(diff.Warnings, w => w.Text.Contains("cluster and Vault access revoked", StringComparison.Ordinal));
        Assert.Contains(diff.Warnings, w => w.OsUser == "bob" && w.Text.Contains("RoleBinding team-c/made-elsewhere stays", StringComparison.Ordinal));

        var md = AccessDiffs.Markdown(diff, "a", "b");
        Assert.Contains("#### Still to remove by hand: what another stack grants bob\n", md, StringComparison.Ordinal);
        Assert.Contains("- RoleBinding `made-elsewhere` in namespace `team-c`: remove the subject `User bob@example.test`", md, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(AccessDiffs.Json(diff));
        var entry = json.RootElement.GetProperty("people").EnumerateArray().Single(p => p.GetProperty("os_user").GetString() == "bob")
            .GetProperty("still_to_remove").EnumerateArray().Single();
        Assert.Equal("team-c/made-elsewhere", entry.GetProperty("binding").GetString());
    }

    [Fact]
    public void S5_a_leavers_cluster_binding_from_another_stack_is_still_to_remove_by_hand()
    {
        var text = File.ReadAllText(TestFiles.GoldenRoster).Replace("    tier: power-user\n", "    tier: power-user\n    cluster_bindings: [oidc-power-user-alice]\n", StringComparison.Ordinal);
        var before = Derivation.Derive(RosterLoader.Load(text).ModelOrThrow());
        var after = Derivation.Derive(RosterLoader.Load(RosterEditText.Without(text, "alice")).ModelOrThrow());
        var alice = AccessDiffs.Diff(before, after).People.Single(p => p.OsUser == "alice");
        var left = Assert.Single(alice.StillToRemove);
        Assert.Equal("ClusterRoleBinding oidc-power-user-alice", left.ToString());
        Assert.Contains("kubectl get clusterrolebinding oidc-power-user-alice -o jsonpath='{.subjects}'  # done when alice@example.test is not listed\n",
            AccessDiffs.Markdown(AccessDiffs.Diff(before, after), "a", "b"), StringComparison.Ordinal);
    }

    /// <summary>
    /// Issue 26 §3: a playwright port that moves takes the person's MCP entry with it. The diff says
    /// so, and, given the host's status report (`--status`), that an entry its person made by hand
    /// stays where it is until they repoint it.
    /// </summary>
    [Fact]
    public void A_moved_playwright_port_says_the_entry_will_be_repointed_or_needs_the_person_when_the_status_says_it_is_hand_made()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var head = Path.Combine(dir.FullName, "head.yaml");
            File.WriteAllText(head, File.ReadAllText(TestFiles.GoldenRoster).Replace("ports: { t3: 3774, playwright: 8932 }", "ports: { t3: 3774, playwright: 8950 }", StringComparison.Ordinal));
            string Report(string state) => $$$"""{"people":[{"user":"alice","state":"active","playwright_entry":{"state":"{{{state}}}","port":8932,"server_port":8932}},{"user":"bob","state":"active","playwright_entry":{"state":"hand-made","port":null,"server_port":8933}}]}""";
            var ours = Path.Combine(dir.FullName, "ours.json");
            var theirs = Path.Combine(dir.FullName, "theirs.json");
            File.WriteAllText(ours, Report("ours"));
            File.WriteAllText(theirs, Report("hand-made"));
            const string Repointed = "- ⚠ **alice** playwright entry will be repointed from port 8932 to 8950 in ~/.claude.json (once the server restarts there, when its person is idle)\n";
            const string NeedsThem = "- ⚠ **alice** playwright entry needs the person to repoint it to port 8950: theirs, made by hand (`--status`), so the host leaves it on 8932\n";

            var (code, plain, _) = Run("diff", TestFiles.GoldenRoster, head);
            Assert.Equal(0, code);
            Assert.Contains(Repointed, plain, StringComparison.Ordinal);
            Assert.Equal(plain, Run("diff", TestFiles.GoldenRoster, head, "--status", ours).Stdout);
            var (code2, handMade, _) = Run("diff", "--status", theirs, TestFiles.GoldenRoster, head);
            Assert.Equal(0, code2);
            Assert.Contains(NeedsThem, handMade, StringComparison.Ordinal);
            Assert.DoesNotContain("will be repointed", handMade, StringComparison.Ordinal);
            // bob's port does not move: his hand-made entry is no news.
            Assert.DoesNotContain("**bob** playwright entry", handMade, StringComparison.Ordinal);

            // Nothing moves: no word on the entry either way.
            Assert.DoesNotContain("playwright entry", Run("diff", TestFiles.GoldenRoster, TestFiles.GoldenRoster, "--status", theirs).Stdout, StringComparison.Ordinal);
            // A report that is not one is an error naming it, and nothing is printed.
            var bad = Path.Combine(dir.FullName, "bad.json");
            File.WriteAllText(bad, "not json");
            var (code3, out3, err3) = Run("diff", TestFiles.GoldenRoster, head, "--status", bad);
            Assert.Equal((2, ""), (code3, out3));
            Assert.Contains($"roster diff: {bad}: not a `workstation status --json` report", err3, StringComparison.Ordinal);
            Assert.Equal(2, Run("diff", TestFiles.GoldenRoster, head, "--status").Code);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    /// <summary>Removes a user's entry from roster text (its lines up to the next user or section).</summary>
    private static class RosterEditText
    {
        public static string Without(string text, string osUser)
        {
            var start = text.IndexOf($"  {osUser}:\n", StringComparison.Ordinal);
            var end = start + 1;
            while (true)
            {
                end = text.IndexOf('\n', end) + 1;
                if (end >= text.Length || !text[end..].StartsWith("    ", StringComparison.Ordinal)) break;
            }
            return text[..start] + text[end..];
        }
    }

    private static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = Cli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }
}

using System.Globalization;
using System.Text.Json.Nodes;

namespace Workstation.Roster.Tests;

/// <summary>
/// Issue 28: the emergency cut (`scripts/ci.sh cut USER`, a manual job) and the monthly access
/// review (`scripts/ci.sh review`, a scheduled job), each run from its pipeline's YAML in a
/// checkout of its own (a git repository with an origin to push to), against the stand-ins for
/// `pulumi`, `dotnet` (which runs the real roster CLI) and `ssh`, and the fake forge.
/// </summary>
public sealed partial class PipelineTests
{
    private const string CutUser = "alice";
    private const string DevvmHostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheDevvm";
    private readonly List<JsonObject> _pulls = [];
    private readonly List<JsonObject> _issues = [];

    /// <summary>The forge's PR and issue API (list, create, edit), the same on Forgejo and GitHub.</summary>
    private (int, string)? HandlePullsAndIssues(string method, string path, string body)
    {
        lock (_pulls)
        {
            foreach (var (kind, list) in new[] { ("pulls", _pulls), ("issues", _issues) })
            {
                var root = $"/repos/owner/infra/{kind}";
                if (method == "GET" && path == root)
                    return (200, new JsonArray(list.Select(x => (JsonNode)x.DeepClone()).ToArray()).ToJsonString());
                if (method == "POST" && path == root)
                {
                    var req = JsonNode.Parse(body)!.AsObject();
                    var n = 20 + _pulls.Count + _issues.Count;
                    var item = new JsonObject
                    {
                        ["number"] = n, ["title"] = req["title"]!.GetValue<string>(), ["body"] = req["body"]!.GetValue<string>(),
                        ["html_url"] = $"https://forge.example/owner/infra/{kind}/{n}",
                    };
                    if (kind == "pulls")
                    {
                        item["head"] = new JsonObject { ["ref"] = req["head"]!.GetValue<string>() };
                        item["base"] = new JsonObject { ["ref"] = req["base"]!.GetValue<string>() };
                    }
                    list.Add(item);
                    return (201, item.ToJsonString());
                }
                if (method == "PATCH" && path.StartsWith(root + "/", StringComparison.Ordinal))
                {
                    var item = list.Single(x => $"{root}/{x["number"]}" == path);
                    item["body"] = JsonNode.Parse(body)!["body"]!.GetValue<string>();
                    return (200, item.ToJsonString());
                }
            }
        }
        return null;
    }

    /// <summary>
    /// A checkout of its own: the script, the pins, the stack file and a roster with alice, in a git
    /// repository whose origin (a bare one) takes the pushes. Returns the checkout and the origin.
    /// </summary>
    private (string Checkout, string Origin) Checkout()
    {
        var checkout = Path.Combine(_stand.Dir, "checkout");
        var origin = Path.Combine(_stand.Dir, "origin.git");
        foreach (var file in new[] { "scripts/ci.sh", ".ci/versions", "Pulumi.devvm.yaml" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(checkout, file))!);
            File.Copy(Path.Combine(TestFiles.Root, file), Path.Combine(checkout, file));
        }
        File.WriteAllText(Path.Combine(checkout, "roster.yaml"), TestFiles.Head +
            TestFiles.User(CutUser, 3780, 8940, extra: "    uid: 2670\n") + TestFiles.User("bob", 3781, 8941) + "retired: {}\n");
        Git(_stand.Dir, "init", "-q", "--bare", "-b", "main", origin);
        Git(checkout, "init", "-q", "-b", "main");
        Git(checkout, "add", ".");
        Git(checkout, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "start");
        Git(checkout, "remote", "add", "origin", origin);
        Git(checkout, "push", "-q", "origin", "main");
        return (checkout, origin);
    }

    private static string Git(string dir, params string[] args)
    {
        var r = Processes.Run("git", ["-C", dir, .. args], new Dictionary<string, string?> { ["GIT_CONFIG_NOSYSTEM"] = "1" }, seconds: 30);
        Assert.True(r.Code == 0, $"git {string.Join(' ', args)}: {r.Err}");
        return r.Out;
    }

    /// <summary>The real dotnet, before the stand-ins went first on PATH.</summary>
    private static string RealDotnet() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "dotnet")).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("no dotnet on PATH");

    /// <summary>
    /// `dotnet run --project .../Roster -- ARGS` runs the real roster CLI (this build of it); `ssh`
    /// answers as the devvm would: the suspend, a suspended alice's status, the host's status report.
    /// </summary>
    private void StandInsForTheDevvm(bool sshFails = false)
    {
        _stand.Add("dotnet", """
            case "${1:-}" in
              --version) echo "${WS_DOTNET_VERSION:-10.0.100}" ;;
              run) while (($#)) && [[ "$1" != -- ]]; do shift; done; shift; exec "$WS_REAL_DOTNET" "$WS_ROSTER_DLL" "$@" ;;
            esac
            """);
        _env["WS_REAL_DOTNET"] = RealDotnet();
        _env["WS_ROSTER_DLL"] = Path.Combine(AppContext.BaseDirectory, "roster.dll");
        _stand.Add("ssh", $$"""
            {{(sshFails ? "echo 'ssh: connect to host devvm.example.test port 22: Connection refused' >&2; exit 255" : "")}}
            # The key arrives as a file only its owner reads.
            for ((i = 1; i < $#; i++)); do [[ "${!i}" == -i ]] && { j=$((i + 1)); stat -c '%a' "${!j}" >"$WS_STATE/key-mode"; cat "${!j}" >"$WS_STATE/key"; }; done
            case " $* " in
              *" user suspend alice "*) echo "cut: {\"holds\":true}" >&2 ;;
              *" user status alice --json "*)
                echo '{"user":"alice","state":"suspended","cut_at":"2026-12-07T10:00:05Z","cut":{"password_login":"refused","ssh_key_login":"refused","processes":0,"units_off":true,"maps":"absent","holds":true} }' ;;
              *" status --json "*) echo '{"people":[]}' ;;
              *) echo "stand-in ssh: unexpected $*" >&2; exit 2 ;;
            esac
            """);
    }

    private List<string> SshCalls() =>
        _stand.Recorded().Where(c => c[0] == "ssh").Select(c => string.Join(' ', c.SkipWhile(a => !a.StartsWith("root@", StringComparison.Ordinal)))).ToList();

    /// <summary>The first recorded call whose text contains <paramref name="part"/>, by position.</summary>
    private int CallIndex(string part) =>
        _stand.Recorded().Select(c => string.Join(' ', c)).ToList().FindIndex(c => c.Contains(part, StringComparison.Ordinal));

    private (int Code, string Log) RunCut(Job job, string checkout)
    {
        job.Env["CUT_USER"] = CutUser;
        return Run(job, checkout);
    }

    /// <summary>What every emergency cut does: the roster edit first, the cut, the probes printed, the branch pushed, the PR opened; no secret anywhere.</summary>
    private void AssertCut((int Code, string Log) run, string origin, string checkout, string via)
    {
        Assert.True(run.Code == 0, run.Log);
        Assert.Contains($"cut of alice by {via}: state suspended, cut at 2026-12-07T10:00:05Z", run.Log, StringComparison.Ordinal);
        Assert.Contains("  password_login: refused\n", run.Log, StringComparison.Ordinal);
        Assert.Contains("  holds: true\n", run.Log, StringComparison.Ordinal);

        // The roster edit came before the cut, the probes after it.
        Assert.True(CallIndex("retire alice roster.yaml") >= 0, "no roster retire");
        Assert.True(CallIndex("retire alice") < CallIndex("cut-targets alice"));
        Assert.Equal("root@devvm.example.test /usr/local/lib/workstation/bin/workstation user status alice --json", SshCalls()[^1]);
        Assert.Equal("600", File.ReadAllText(Path.Combine(_stand.State, "key-mode")).Trim());
        Assert.Equal(SshKey + "\n", File.ReadAllText(Path.Combine(_stand.State, "key")));

        // The branch on the forge: alice under retired:, nothing else changed, as one commit.
        var branch = Git(origin, "for-each-ref", "--format=%(refname:short)", "refs/heads/cut/").Trim();
        Assert.Matches(@"^cut/alice-\d{8}-\d{6}$", branch);
        Assert.Equal("Emergency cut: retire alice", Git(origin, "log", "-1", "--format=%s", branch).Trim());
        Assert.Equal("roster.yaml", Git(origin, "diff", "--name-only", "main", branch).Trim());
        var retired = RosterLoader.Load(Git(origin, "show", $"{branch}:roster.yaml")).ModelOrThrow();
        var tombstone = Assert.Single(retired.Retired);
        Assert.Equal(("alice", (int?)2670, new Ports(3780, 8940)), (tombstone.OsUser, tombstone.Uid, tombstone.Ports));
        Assert.Equal(["bob"], retired.Users.Select(u => u.OsUser));

        lock (_pulls)
        {
            var pr = Assert.Single(_pulls);
            Assert.Equal(branch, pr["head"]!["ref"]!.GetValue<string>());
            Assert.Equal("main", pr["base"]!["ref"]!.GetValue<string>());
            Assert.Equal("Emergency cut: retire alice", pr["title"]!.GetValue<string>());
            Assert.Contains($"by {via}.", pr["body"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Contains("  ssh_key_login: refused\n", pr["body"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        Assert.Contains("ci: the roster PR: https://forge.example/owner/infra/pulls/", run.Log, StringComparison.Ordinal);
        AssertNoSecretLeaked(run.Log);
        lock (_pulls) Assert.DoesNotContain(_pulls, p => SecretMarks.Any(m => p.ToJsonString().Contains(m, StringComparison.Ordinal)));
        Assert.Equal("", Git(checkout, "status", "--porcelain").Trim());
    }

    /// <summary>The targets the up must name: `roster cut-targets` over the retired roster, the one list the program's hint names too.</summary>
    private static string[] ExpectedTargets(string checkout, string origin)
    {
        var branch = Git(origin, "for-each-ref", "--format=%(refname:short)", "refs/heads/cut/").Trim();
        var after = Path.Combine(checkout, "after.yaml");
        File.WriteAllText(after, Git(origin, "show", $"{branch}:roster.yaml"));
        using var stdout = new StringWriter();
        Assert.Equal(0, Cli.Run(["cut-targets", "alice", after, "--stack", Path.Combine(checkout, "Pulumi.devvm.yaml")], stdout, new StringWriter()));
        File.Delete(after);
        return stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Fact]
    public void Woodpeckers_manual_cut_retires_the_person_in_a_branch_cuts_them_with_the_targeted_up_prints_the_probes_and_opens_the_pr()
    {
        StandInsForTheDevvm();
        var (checkout, origin) = Checkout();
        var run = RunCut(Woodpecker("cut", "manual"), checkout);
        AssertCut(run, origin, checkout, "the targeted pulumi up");
        var targets = ExpectedTargets(checkout, origin);
        Assert.Contains("urn:pulumi:devvm::workstation::**$command:remote:Command::alice-cut", targets);
        Assert.Equal([.. Session("devvm"), "up --stack devvm --yes --non-interactive --color never " + string.Join(' ', targets.Select(t => $"--target {t}"))], PulumiCalls());
        AssertRanWithBackendAndPassphrase();
        AssertCredentialsCameOnStdin();
        Assert.True(CallIndex("cut-targets alice") < CallIndex("pulumi up"));
        Assert.DoesNotContain(SshCalls(), c => c.Contains("user suspend", StringComparison.Ordinal));
    }

    [Fact]
    public void When_pulumi_cannot_run_the_cut_is_the_hosts_user_suspend_over_ssh_and_the_pr_says_so()
    {
        StandInsForTheDevvm();
        _env["WS_PULUMI_FAIL"] = "up";
        var (checkout, origin) = Checkout();
        var run = RunCut(GitHub("cut"), checkout);
        AssertCut(run, origin, checkout, "'workstation user suspend' over SSH (pulumi up failed, exit 255)");
        Assert.Contains("ci: pulumi could not cut alice (exit 255): suspending them on the host over SSH", run.Log, StringComparison.Ordinal);
        Assert.Equal(
            ["root@devvm.example.test /usr/local/lib/workstation/bin/workstation user suspend alice",
             "root@devvm.example.test /usr/local/lib/workstation/bin/workstation user status alice --json"], SshCalls());
    }

    [Fact]
    public void A_cut_that_neither_pulumi_nor_the_host_can_make_fails_the_job_and_opens_no_pr()
    {
        StandInsForTheDevvm(sshFails: true);
        _env["WS_PULUMI_FAIL"] = "up";
        var (checkout, origin) = Checkout();
        var run = RunCut(GitHub("cut"), checkout);
        Assert.NotEqual(0, run.Code);
        Assert.Contains("ci: could not cut alice: pulumi up failed, and so did 'workstation user suspend' over SSH", run.Log, StringComparison.Ordinal);
        lock (_pulls) Assert.Empty(_pulls);
        Assert.Equal("", Git(origin, "for-each-ref", "refs/heads/cut/").Trim());
        AssertNoSecretLeaked(run.Log);
    }

    [Theory]
    [InlineData("alice;id")]
    [InlineData("-alice")]
    [InlineData("")]
    public void A_cut_of_a_name_that_is_not_an_os_user_is_refused_before_anything_runs(string user)
    {
        StandInsForTheDevvm();
        var (checkout, _) = Checkout();
        var job = GitHub("cut");
        job.Env["CUT_USER"] = user;
        var run = Run(job, checkout);
        Assert.NotEqual(0, run.Code);
        Assert.Contains($"ci: cut: '{user}' is not an os_user", run.Log, StringComparison.Ordinal);
        Assert.DoesNotContain(_stand.Recorded(), c => c[0] is "pulumi" or "ssh" || (c[0] == "dotnet" && c.Contains("run")));
    }

    [Fact]
    public void The_manual_cut_waits_for_no_review_but_only_a_manual_run_of_main_starts_it()
    {
        var cut = ((YamlDotNet.RepresentationModel.YamlSequenceNode)Child(Load(".woodpecker/roster.yaml"), "steps")!).Single(s => Text(s, "name") == "cut");
        var when = Assert.Single((YamlDotNet.RepresentationModel.YamlSequenceNode)Child(cut, "when")!);
        Assert.Equal(("manual", "main"), (Text(when, "event"), Text(when, "branch")));
        var github = Child(Child(Load(".github/workflows/roster.yml"), "jobs")!, "cut")!;
        Assert.Equal("github.event_name == 'workflow_dispatch'", Text(github, "if"));
        Assert.Equal("devvm-cut", Text(github, "environment"));
        // The input is data: it reaches the script in the environment, never pasted into the command line.
        Assert.DoesNotContain(((YamlDotNet.RepresentationModel.YamlSequenceNode)Child(github, "steps")!).Select(s => Text(s, "run") ?? ""),
            r => r.Contains("${{", StringComparison.Ordinal));
    }

    [Fact]
    public void The_monthly_review_opens_one_sign_off_pr_touching_only_the_review_file_and_one_issue_then_updates_both()
    {
        StandInsForTheDevvm();
        var (checkout, origin) = Checkout();
        var month = DateTime.UtcNow.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var first = Run(Woodpecker("access-review", "cron"), checkout);
        Assert.True(first.Code == 0, first.Log);
        Assert.Equal(["root@devvm.example.test /usr/local/lib/workstation/bin/workstation status --json"], SshCalls());
        Assert.Equal($"reviews/{month}.json", Git(origin, "diff", "--name-only", "main", $"review/{month}").Trim());
        var file = System.Text.Json.JsonDocument.Parse(Git(origin, "show", $"review/{month}:reviews/{month}.json")).RootElement;
        Assert.Equal(["alice", "bob", "wiz"], file.GetProperty("people").EnumerateArray().Select(p => p.GetProperty("os_user").GetString()));
        Assert.Equal(["devvm"], file.GetProperty("hosts").EnumerateArray().Select(h => h.GetString()));

        var second = Run(GitHub("review"), checkout);
        Assert.True(second.Code == 0, second.Log);
        Assert.Contains("ci: updated the review issue #", second.Log, StringComparison.Ordinal);
        lock (_pulls)
        {
            var pr = Assert.Single(_pulls);
            Assert.Equal($"review/{month}", pr["head"]!["ref"]!.GetValue<string>());
            var issue = Assert.Single(_issues);
            var body = issue["body"]!.GetValue<string>();
            Assert.StartsWith($"<!-- workstation-access-review {month} -->\nSign-off PR: {pr["html_url"]!.GetValue<string>()}", body, StringComparison.Ordinal);
            Assert.Contains("# Access review: roster.yaml", body, StringComparison.Ordinal);
            Assert.Contains("## Who can reach what (3)", body, StringComparison.Ordinal);
            Assert.Equal($"Access review {month}", issue["title"]!.GetValue<string>());
        }
        AssertNoSecretLeaked(first.Log + second.Log);
    }
}

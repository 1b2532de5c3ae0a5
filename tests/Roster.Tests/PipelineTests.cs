using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Workstation.Roster.Tests;

/// <summary>
/// Each pipeline's own commands, read from its YAML (the Woodpecker step, the GitHub job), run
/// against stand-ins for `pulumi`, `dotnet`, the linters and `apt-get`, a recording `curl` and a
/// fake forge on loopback: on a PR they check the pinned tools, log in to the backend, install,
/// preview the devvm stack and post the access diff and the preview's summary in one comment; on
/// main they do the same and `up`. No secret reaches an argument, the log or a comment.
/// </summary>
public sealed partial class PipelineTests : IDisposable
{
    private const string Backend = "file:///srv/pulumi-state";
    private readonly List<JsonObject> _comments = [];
    private readonly LoopbackServer _server;
    private readonly StandIns _stand = new();

    // Each forge secret's value: distinctive, so a leak anywhere is found. Its mark is the part
    // that must never show (a multi-line key's middle line, a token in a kubeconfig).
    private const string ForgeToken = "forge-T0k3n-pipe-5a1", Passphrase = "pass-Phr4se-pipe-77c", AuthentikToken = "authentik-T0k3n-pipe-0f2";
    private const string SshMark = "ssh-K3y-pipe-e90", KubeMark = "kube-T0k3n-pipe-31b", VaultMark = "vault-T0k3n-pipe-c4d";
    private const string SshKey = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + SshMark + "\n-----END OPENSSH PRIVATE KEY-----";
    private const string Kubeconfig = "apiVersion: v1\nusers: [{name: ci, user: {token: " + KubeMark + "}}]";
    private const string VaultToken = "hvs." + VaultMark;

    private static readonly string[] SecretMarks = [ForgeToken, Passphrase, SshMark, KubeMark, VaultMark, AuthentikToken];

    /// <summary>The forge secret names, per forge, and which value each holds.</summary>
    private static string? SecretFor(string name) => name.ToLowerInvariant() switch
    {
        "forge_token" or "github_token" => ForgeToken,
        "pulumi_config_passphrase" => Passphrase,
        "pulumi_backend_url" => Backend,
        var n when n.EndsWith("ssh_key", StringComparison.Ordinal) => SshKey,
        var n when n.EndsWith("kubeconfig", StringComparison.Ordinal) => Kubeconfig,
        var n when n.EndsWith("vault_token", StringComparison.Ordinal) => VaultToken,
        var n when n.EndsWith("authentik_token", StringComparison.Ordinal) => AuthentikToken,
        "devvm_host" => "devvm.example.test",
        "devvm_host_key" => DevvmHostKey,
        _ => null, // a secret the forge doesn't hold: Woodpecker refuses the step, GitHub passes ''
    };

    public PipelineTests()
    {
        _server = new LoopbackServer((req, body) => Handle(req.HttpMethod, req.Url!.AbsolutePath, body, req.Headers["Authorization"]));
        var pin = Pinned("PULUMI_CLI_VERSION");
        _stand.AddPulumi();
        _stand.Add("dotnet", """
            case "${1:-}" in
              --version) echo "${WS_DOTNET_VERSION:-10.0.100}" ;;
              run) case " $* " in
                     *" diff "*) printf '## Roster access diff\n\n+ alice: power-user\n' ;;
                     *) echo "roster.yaml: valid" >&2 ;;
                   esac ;;
              test) echo "Passed!  - Failed:     0, Passed:     1, Skipped:     0, Total:     1, Duration: 1 ms" ;;
            esac
            """);
        _stand.AddNoOp("apt-get", "shellcheck", "yamllint");
        // curl: the forge on loopback is real; anything else (the internet) is refused.
        _stand.Add("curl", """
            for a in "$@"; do [[ "$a" == http://127.0.0.1:* ]] && exec /usr/bin/curl "$@"; done
            echo "stand-in curl: no network here" >&2
            exit 7
            """);
        _env = _stand.Environment();
        _env["WS_PULUMI_VERSION"] = pin;
        StandIns.ClearInherited(_env);
    }

    private readonly Dictionary<string, string?> _env;

    public void Dispose()
    {
        _server.Dispose();
        _stand.Dispose();
    }

    private static string Pinned(string name) =>
        Regex.Match(File.ReadAllText(Path.Combine(TestFiles.Root, ".ci", "versions")), $"^{name}=([0-9.]+)$", RegexOptions.Multiline).Groups[1].Value;

    // The fake forge: Forgejo's /api/v1 and GitHub's root serve the same comment API.
    private (int, string) Handle(string method, string path, string body, string? auth)
    {
        if (auth != $"token {ForgeToken}") return (401, """{"message":"bad token"}""");
        path = path.StartsWith("/api/v1/", StringComparison.Ordinal) ? path["/api/v1".Length..] : path;
        if (HandlePullsAndIssues(method, path, body) is { } pullsOrIssues) return pullsOrIssues;
        if (ForgeComments.Handle(_comments, method, path, body) is { } comments) return comments;
        return (404, """{"message":"not found"}""");
    }

    // --- reading the pipelines -------------------------------------------------------------------

    private static YamlMappingNode Load(string file)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(TestFiles.Root, file))));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static YamlNode? Child(YamlNode node, string key) =>
        node is YamlMappingNode m && m.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    private static string? Text(YamlNode node, string key) => (Child(node, key) as YamlScalarNode)?.Value;

    private static IEnumerable<KeyValuePair<YamlNode, YamlNode>> Entries(YamlNode? map) =>
        map is YamlMappingNode m ? m.Children : [];

    /// <summary>A job as the forge would run it: its commands (one shell script) and its environment.</summary>
    private sealed record Job(string Script, Dictionary<string, string?> Env, string Shell, IReadOnlyList<string> Secrets);

    private Job Woodpecker(string step, string @event)
    {
        var node = ((YamlSequenceNode)Child(Load(".woodpecker/roster.yaml"), "steps")!).Single(s => Text(s, "name") == step);
        Assert.Equal($"mcr.microsoft.com/dotnet/sdk:{Pinned("DOTNET_SDK_VERSION")}", Text(node, "image"));
        var ci = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["CI_FORGE_URL"] = _server.Url, ["CI_REPO"] = "owner/infra", ["CI_COMMIT_PULL_REQUEST"] = "7", ["CI_COMMIT_TARGET_BRANCH"] = "main",
            ["CI_PIPELINE_EVENT"] = @event,
        };
        var env = new Dictionary<string, string?>(StringComparer.Ordinal) { ["CI"] = "woodpecker" };
        var secrets = new List<string>();
        foreach (var (k, v) in Entries(Child(node, "environment")))
        {
            var name = ((YamlScalarNode)k).Value!;
            if (Text(v, "from_secret") is { } secret)
            {
                secrets.Add(secret);
                // Woodpecker stops a step that names a secret it doesn't hold; this test holds them all.
                env[name] = SecretFor(secret) ?? throw new InvalidOperationException($"{step}: secret {secret} has no test value");
            }
            else
                env[name] = WoodpeckerVar().Replace(((YamlScalarNode)v).Value!, m => ci[m.Groups[1].Value]);
        }
        var commands = ((YamlSequenceNode)Child(node, "commands")!).Select(c => ((YamlScalarNode)c).Value!);
        return new Job(string.Join('\n', commands), env, "/bin/sh", secrets);
    }

    [GeneratedRegex(@"\$\{(CI_[A-Z_]+)\}")]
    private static partial Regex WoodpeckerVar();

    private Job GitHub(string jobName)
    {
        var job = Child(Child(Load(".github/workflows/roster.yml"), "jobs")!, jobName)!;
        var github = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["github.api_url"] = _server.Url, ["github.repository"] = "owner/infra", ["github.event.pull_request.number"] = "7", ["github.base_ref"] = "main",
            ["inputs.user"] = CutUser,
        };
        var scripts = new List<string>();
        var env = new Dictionary<string, string?>(StringComparer.Ordinal) { ["CI"] = "true" };
        var secrets = new List<string>();
        foreach (var step in (YamlSequenceNode)Child(job, "steps")!)
        {
            if (Text(step, "uses") is { } uses)
            {
                if (uses.StartsWith("actions/setup-dotnet@", StringComparison.Ordinal))
                    Assert.Equal($"{Pinned("DOTNET_SDK_VERSION")}.x", Text(Child(step, "with")!, "dotnet-version"));
                continue;
            }
            foreach (var (k, v) in Entries(Child(step, "env")))
            {
                env[((YamlScalarNode)k).Value!] = GitHubExpression().Replace(((YamlScalarNode)v).Value!, m =>
                {
                    var expr = m.Groups[1].Value;
                    if (expr.StartsWith("secrets.", StringComparison.Ordinal))
                    {
                        secrets.Add(expr["secrets.".Length..]);
                        return SecretFor(expr["secrets.".Length..]) ?? "";
                    }
                    if (expr == "vars.PULUMI_BACKEND_URL") return Backend;
                    return github.TryGetValue(expr, out var value) ? value : throw new InvalidOperationException($"unknown expression {expr}");
                });
            }
            scripts.Add(Text(step, "run")!);
        }
        return new Job(string.Join('\n', scripts), env, "bash", secrets);
    }

    [GeneratedRegex(@"\$\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")]
    private static partial Regex GitHubExpression();

    private (int Code, string Log) Run(Job job, string? checkout = null)
    {
        var script = Path.Combine(_stand.Dir, "job.sh");
        // The forges run the commands from a checkout of the repo, stopping at the first failure.
        File.WriteAllText(script, $"set -e\ncd '{checkout ?? TestFiles.Root}'\n{job.Script}\n");
        var env = new Dictionary<string, string?>(_env);
        foreach (var (k, v) in job.Env) env[k] = v;
        var r = Processes.Run(job.Shell, job.Shell == "bash" ? ["--noprofile", "--norc", "-eo", "pipefail", script] : ["-e", script], env, seconds: 120);
        return (r.Code, r.Out + r.Err);
    }

    // --- what a run did ------------------------------------------------------------------------

    /// <summary>The pulumi calls but `version`, as "verb args".</summary>
    private List<string> PulumiCalls() =>
        _stand.Recorded().Where(c => c[0] == "pulumi" && c.ElementAtOrDefault(1) != "version").Select(c => string.Join(' ', c.Skip(1))).ToList();

    private static string[] Session(string stack) =>
    [
        $"login --non-interactive {Backend}",
        "install --non-interactive",
        $"stack select --create --non-interactive {stack}",
        $"config set --stack {stack} --secret sshPrivateKey",
        $"config set --stack {stack} --secret kubeconfig",
        $"config set --stack {stack} --secret vaultToken",
        $"config set --stack {stack} --secret authentikToken",
        $"config set --stack {stack} --secret backupPassword",
    ];

    /// <summary>No secret in any recorded argument, the log or a comment; the credentials reached pulumi on stdin.</summary>
    private void AssertNoSecretLeaked(string log)
    {
        var calls = File.ReadAllText(_stand.Calls);
        string comments;
        lock (_comments) comments = string.Join('\n', _comments.Select(c => c.ToJsonString()));
        foreach (var mark in SecretMarks)
        {
            Assert.False(calls.Contains(mark, StringComparison.Ordinal), $"a secret ({mark}) reached a program's arguments:\n{calls}");
            Assert.False(log.Contains(mark, StringComparison.Ordinal), $"a secret ({mark}) reached the log");
            Assert.False(comments.Contains(mark, StringComparison.Ordinal), $"a secret ({mark}) reached the PR comment");
        }
    }

    private void AssertCredentialsCameOnStdin()
    {
        string Stdin(string key) => File.ReadAllText(Path.Combine(_stand.State, $"stdin-{key}"));
        Assert.Equal(SshKey, Stdin("sshPrivateKey"));
        Assert.Equal(Kubeconfig, Stdin("kubeconfig"));
        Assert.Equal(VaultToken, Stdin("vaultToken"));
        Assert.Equal(AuthentikToken, Stdin("authentikToken"));
    }

    /// <summary>The environment `preview` or `up` ran with: the backend, and the passphrase from the environment.</summary>
    private void AssertRanWithBackendAndPassphrase()
    {
        var env = Assert.Single(_stand.Recorded(), c => c[0] == "env");
        Assert.Equal($"backend={Backend}", env[1]);
        Assert.Equal("passphrase=set", env[2]);
    }

    /// <summary>The pinned .NET SDK and Pulumi CLI were checked before the login.</summary>
    private void AssertVersionsCheckedFirst()
    {
        var all = _stand.Recorded().Select(c => string.Join(' ', c)).ToList();
        var login = all.FindIndex(c => c.StartsWith("pulumi login", StringComparison.Ordinal));
        Assert.True(login > 0, "no pulumi login");
        Assert.Contains("dotnet --version", all.Take(login));
        Assert.Contains("pulumi version", all.Take(login));
    }

    /// <summary>
    /// What every job must do: succeed, check the pins before the login, make the session's calls
    /// and then <paramref name="command"/> and nothing else, with the backend and passphrase, the
    /// credentials on stdin and no secret in the log.
    /// </summary>
    private void AssertRan((int Code, string Log) run, string command)
    {
        Assert.True(run.Code == 0, run.Log);
        AssertVersionsCheckedFirst();
        Assert.Equal([.. Session("devvm"), command], PulumiCalls());
        AssertRanWithBackendAndPassphrase();
        AssertCredentialsCameOnStdin();
        AssertNoSecretLeaked(run.Log);
    }

    private void AssertPrRun((int Code, string Log) run)
    {
        AssertRan(run, "preview --stack devvm --diff --non-interactive --color never");
        lock (_comments)
        {
            var comment = Assert.Single(_comments)["body"]!.GetValue<string>();
            Assert.StartsWith("<!-- workstation-roster-diff -->\n## Roster access diff", comment, StringComparison.Ordinal);
            Assert.Contains("+ alice: power-user", comment, StringComparison.Ordinal);
            Assert.Contains("### `pulumi preview --diff --stack devvm`", comment, StringComparison.Ordinal);
            Assert.Contains("Resources:\n    + 1 to create\n    40 unchanged\n", comment, StringComparison.Ordinal);
        }
    }

    private void AssertDeployRun((int Code, string Log) run)
    {
        // --continue-on-error (issue 27 §5): an unreachable host of the fleet fails only its own people's steps.
        AssertRan(run, "up --stack devvm --yes --non-interactive --color never --continue-on-error");
        lock (_comments) Assert.Empty(_comments);
    }

    // --- the pipelines -------------------------------------------------------------------------

    public enum Forge { Woodpecker, GitHub }

    public static TheoryData<Forge> Forges => [Forge.Woodpecker, Forge.GitHub];

    /// <summary>A forge's PR job: Woodpecker's roster-pr step on a pull_request, GitHub's pr job.</summary>
    private Job Pr(Forge forge) => forge == Forge.Woodpecker ? Woodpecker("roster-pr", "pull_request") : GitHub("pr");

    /// <summary>A forge's deploy job: Woodpecker's deploy step on a (promoted) deployment, GitHub's deploy job.</summary>
    private Job Deploy(Forge forge) => forge == Forge.Woodpecker ? Woodpecker("deploy", "deployment") : GitHub("deploy");

    [Theory]
    [MemberData(nameof(Forges))]
    public void On_a_pr_each_forge_logs_in_installs_and_previews_the_devvm_stack_and_comments_the_diff_and_the_summary(Forge forge) =>
        AssertPrRun(Run(Pr(forge)));

    /// <summary>Each deploys with up only on main, once approved (how: <see cref="Deploy_waits_for_the_forges_approval_and_a_pr_gets_only_preview_credentials"/>).</summary>
    [Theory]
    [MemberData(nameof(Forges))]
    public void Each_forge_deploys_with_up_only_on_main(Forge forge) =>
        AssertDeployRun(Run(Deploy(forge)));

    /// <summary>The approvals: Woodpecker's deploy runs only on a promoted deployment to devvm; GitHub's in the devvm environment (required reviewers).</summary>
    [Fact]
    public void Deploy_waits_for_the_forges_approval_and_a_pr_gets_only_preview_credentials()
    {
        var deploy = ((YamlSequenceNode)Child(Load(".woodpecker/roster.yaml"), "steps")!).Single(s => Text(s, "name") == "deploy");
        var when = Assert.Single((YamlSequenceNode)Child(deploy, "when")!);
        Assert.Equal("deployment", Text(when, "event"));
        Assert.Equal("main", Text(when, "branch"));
        Assert.Equal("devvm", Text(when, "environment"));
        var github = Child(Child(Load(".github/workflows/roster.yml"), "jobs")!, "deploy")!;
        Assert.Equal("devvm", Text(github, "environment"));
        Assert.Equal("github.event_name == 'push'", Text(github, "if"));
        Assert.Equal("[main]", "[" + string.Join(',', ((YamlSequenceNode)Child(Child(Child(Load(".github/workflows/roster.yml"), "on")!, "push")!, "branches")!).Select(b => b.ToString())) + "]");

        // A PR runs code anyone with a branch wrote: it gets the read-only preview credentials, never deploy's.
        foreach (var secrets in new[] { Woodpecker("roster-pr", "pull_request").Secrets, GitHub("pr").Secrets })
        {
            Assert.Contains(secrets, s => s.Contains("preview", StringComparison.OrdinalIgnoreCase));
            Assert.DoesNotContain(secrets, s => s.Contains("deploy", StringComparison.OrdinalIgnoreCase) || s.Equals("devvm_ssh_key", StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public void No_pipeline_pins_a_tool_version_of_its_own()
    {
        foreach (var file in new[] { ".woodpecker/roster.yaml", ".github/workflows/roster.yml" })
        {
            var text = File.ReadAllText(Path.Combine(TestFiles.Root, file));
            Assert.DoesNotContain("get.pulumi.com", text, StringComparison.Ordinal);
            Assert.DoesNotContain("pulumi-version", text, StringComparison.Ordinal);
            Assert.DoesNotContain("pulumi/actions", text, StringComparison.Ordinal); // the CLI is ci.sh's, at the pin
            Assert.DoesNotMatch(@"\b3\.\d{2,3}\.\d+\b", text);
        }
    }

    // --- the checks themselves can fail ---------------------------------------------------------

    [Fact]
    public void A_secret_passed_as_an_argument_is_caught()
    {
        var job = new Job("pulumi config set --stack devvm --secret vaultToken \"$WORKSTATION_VAULT_TOKEN\"",
            new Dictionary<string, string?> { ["WORKSTATION_VAULT_TOKEN"] = VaultToken }, "bash", []);
        var run = Run(job);
        Assert.Equal(0, run.Code);
        var e = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => AssertNoSecretLeaked(run.Log));
        Assert.Contains("reached a program's arguments", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pipeline_without_backend_or_passphrase_stops_before_any_preview()
    {
        var job = Woodpecker("roster-pr", "pull_request");
        job.Env.Remove("PULUMI_BACKEND_URL");
        var run = Run(job);
        Assert.NotEqual(0, run.Code);
        Assert.Contains("PULUMI_BACKEND_URL is not set", run.Log, StringComparison.Ordinal);
        Assert.DoesNotContain(PulumiCalls(), c => c.StartsWith("preview", StringComparison.Ordinal));
        lock (_comments)
        {
            // The access diff is still posted, with the preview's failure.
            var comment = Assert.Single(_comments)["body"]!.GetValue<string>();
            Assert.Contains("+ alice: power-user", comment, StringComparison.Ordinal);
            Assert.Contains("The preview failed (exit 1): see the pipeline log.", comment, StringComparison.Ordinal);
        }

        var noPassphrase = GitHub("deploy");
        noPassphrase.Env["PULUMI_CONFIG_PASSPHRASE"] = "";
        var again = Run(noPassphrase);
        Assert.NotEqual(0, again.Code);
        Assert.Contains("PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) is not set", again.Log, StringComparison.Ordinal);
        Assert.DoesNotContain(PulumiCalls(), c => c.StartsWith("up", StringComparison.Ordinal));
    }

    [Fact]
    public void Another_pulumi_cli_than_the_pinned_one_is_replaced_by_the_pin_or_the_job_stops()
    {
        _env["WS_PULUMI_VERSION"] = "3.112.1";
        var run = Run(Woodpecker("deploy", "deployment"));
        Assert.NotEqual(0, run.Code);
        Assert.Contains($"ci: Pulumi CLI 3.112.1: installing the pinned {Pinned("PULUMI_CLI_VERSION")}", run.Log, StringComparison.Ordinal);
        Assert.Contains($"ci: could not install Pulumi CLI {Pinned("PULUMI_CLI_VERSION")}", run.Log, StringComparison.Ordinal);
        Assert.Contains(_stand.Recorded(), c => c[0] == "curl" && c.Contains("https://get.pulumi.com"));
        Assert.Empty(PulumiCalls());
    }

    [Theory]
    [InlineData("login")]
    [InlineData("install")]
    public void A_failed_login_or_install_stops_the_job_before_the_preview(string step)
    {
        _env["WS_PULUMI_FAIL"] = step;
        var run = Run(GitHub("pr"));
        Assert.NotEqual(0, run.Code);
        Assert.Contains($"error: stand-in {step} failed", run.Log, StringComparison.Ordinal);
        Assert.Equal(step, PulumiCalls()[^1].Split(' ')[0]);
        lock (_comments) Assert.Contains("The preview failed (exit 255)", Assert.Single(_comments)["body"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public void Another_dotnet_than_the_pinned_one_is_refused()
    {
        _env["WS_DOTNET_VERSION"] = "9.0.100";
        var run = Run(GitHub("deploy"));
        Assert.NotEqual(0, run.Code);
        Assert.Contains($".NET SDK 9.0.100, but .ci/versions pins {Pinned("DOTNET_SDK_VERSION")}", run.Log, StringComparison.Ordinal);
        Assert.Empty(PulumiCalls());
    }
}

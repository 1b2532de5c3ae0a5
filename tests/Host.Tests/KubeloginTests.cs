using YamlDotNet.RepresentationModel;

namespace Host.Tests;

/// <summary>
/// Issue 24 §3: the kubeconfig a person gets logs in from the headless devvm. The box has no
/// kubectl, so the test does what kubectl does with an exec user: it reads the person's
/// kubeconfig (a real YAML parser, here), takes the current context's user, and runs its
/// exec command with its args and env as the person, KUBERNETES_EXEC_INFO set. The command is
/// `kubectl`: a stand-in that does only kubectl's plugin lookup (`kubectl oidc-login` runs
/// `kubectl-oidc_login` from PATH). The stand-in kubelogin records what it was run with.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class KubeloginTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(90))
{
    private const string Issuer = "https://auth.example.test/application/o/kubernetes/";

    private const string StandIns = """
        set -euo pipefail
        cat > /usr/local/bin/kubectl-oidc_login <<'SH'
        #!/bin/sh
        # Stand-in kubelogin: who ran it, with what, and what kubectl told it; then a token.
        { echo "user=$(id -un)"; for a in "$@"; do echo "arg=$a"; done; echo "info=${KUBERNETES_EXEC_INFO:-}"; } > "$HOME/.kubelogin-ran"
        printf '%s\n' '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"stand-in-7c1"}}'
        SH
        cat > /usr/local/bin/kubectl <<'SH'
        #!/bin/sh
        # Stand-in kubectl: only its plugin lookup (kubectl NAME ARGS -> kubectl-NAME, dashes as underscores).
        name=$(printf '%s' "$1" | tr - _); shift; exec "kubectl-$name" "$@"
        SH
        chmod 0755 /usr/local/bin/kubectl-oidc_login /usr/local/bin/kubectl
        """;

    /// <summary>The exec plugin of the kubeconfig's current context: (command, args, env).</summary>
    private static (string Command, List<string> Args, List<(string Name, string Value)> Env) ExecOf(string kubeconfig)
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(kubeconfig));
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        string Str(YamlNode n, string key) => ((YamlScalarNode)((YamlMappingNode)n)[key]).Value!;
        YamlNode Named(string list, string name) => ((YamlSequenceNode)root[list]).Single(e => Str(e, "name") == name);
        var context = Named("contexts", Str(root, "current-context"))["context"];
        var exec = Named("users", Str(context, "user"))["user"]["exec"];
        Assert.Equal("client.authentication.k8s.io/v1beta1", Str(exec, "apiVersion"));
        var args = ((YamlSequenceNode)exec["args"]).Select(a => ((YamlScalarNode)a).Value!).ToList();
        var env = ((YamlMappingNode)exec).Children.TryGetValue("env", out var e) && e is YamlSequenceNode seq
            ? seq.Select(x => (Str(x, "name"), Str(x, "value"))).ToList()
            : [];
        return (Str(exec, "command"), args, env);
    }

    /// <summary>Runs the exec plugin as kubectl would, as the person, from a login shell's PATH; returns what the stand-in recorded.</summary>
    private async Task<(string Stdout, string[] Recorded)> RunPluginAsync(TestUser u)
    {
        var (command, args, env) = ExecOf(await box.ScriptAsync($"runuser -u {u.Name} -- cat {u.Home}/.kube/config"));
        var assignments = env.Select(v => HostCommands.Quote($"{v.Name}={v.Value}"))
            .Append(HostCommands.Quote("KUBERNETES_EXEC_INFO={\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":true}}"));
        var line = $"cd && env {string.Join(' ', assignments)} {HostCommands.Quote(command)} {string.Join(' ', args.Select(HostCommands.Quote))}";
        var ran = await box.MustAsync($"rm -f {u.Home}/.kubelogin-ran; timeout 20 runuser -l {u.Name} -c {HostCommands.Quote(line)}", timeout: Bounded);
        var recorded = (await box.ScriptAsync($"cat {u.Home}/.kubelogin-ran")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return (ran.Stdout, recorded);
    }

    /// <summary>The box ready, with the stand-in kubectl and kubelogin installed.</summary>
    private async Task StandInsAsync()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync("bash -s", stdin: StandIns);
    }

    private static string[] Args(string[] recorded) => [.. recorded.Where(l => l.StartsWith("arg=", StringComparison.Ordinal)).Select(l => l[4..])];

    [Fact]
    public async Task S3_The_persons_kubectl_runs_kubelogin_with_the_device_grant_and_the_email_scope()
    {
        await StandInsAsync();
        var u = new TestUser("kl1", 2401, 5101, 5201);
        await box.MustAsync(u.Apply(tokenStdin: false), timeout: Bounded);
        Assert.Equal("600 kl1", (await box.ScriptAsync($"stat -c '%a %U' {u.Home}/.kube/config")).Trim());

        var (stdout, recorded) = await RunPluginAsync(u);
        Assert.Contains("\"token\":\"stand-in-7c1\"", stdout, StringComparison.Ordinal);
        Assert.Equal("user=kl1", recorded[0]);
        Assert.Equal(["get-token", $"--oidc-issuer-url={Issuer}", "--oidc-client-id=kubernetes", "--grant-type=device-code", "--oidc-extra-scope=email"],
            Args(recorded));
        Assert.Contains(recorded, l => l.StartsWith("info={", StringComparison.Ordinal));
    }

    [Fact]
    public async Task S3_The_keyboard_grant_and_a_name_claim_reach_a_new_kubeconfig_and_an_existing_one_is_never_rewritten()
    {
        await StandInsAsync();
        var before = new TestUser("kl2", 2402, 5102, 5202);
        await box.MustAsync(before.Apply(tokenStdin: false), timeout: Bounded);
        var sum = await box.ScriptAsync($"sha256sum < {before.Home}/.kube/config");
        try
        {
            await box.MustAsync(HostWorld.SiteCommand(grantType: OidcGrantType.AuthcodeKeyboard, usernameClaim: K8sUsernameClaim.Name));
            var u = new TestUser("kl3", 2403, 5103, 5203);
            await box.MustAsync(u.Apply(tokenStdin: false), timeout: Bounded);
            var (_, recorded) = await RunPluginAsync(u);
            Assert.Equal(["get-token", $"--oidc-issuer-url={Issuer}", "--oidc-client-id=kubernetes", "--grant-type=authcode-keyboard"], Args(recorded));

            // The add-only rule: the earlier person's kubeconfig keeps its bytes through a new site and an account step.
            await box.MustAsync(before.Apply(tokenStdin: false), timeout: Bounded);
            Assert.Equal(sum, await box.ScriptAsync($"sha256sum < {before.Home}/.kube/config"));
            Assert.Contains("--grant-type=device-code", Args((await RunPluginAsync(before)).Recorded));
        }
        finally
        {
            await box.MustAsync(HostWorld.SiteCommand());
        }
    }
}

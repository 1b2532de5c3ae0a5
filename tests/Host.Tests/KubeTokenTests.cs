using YamlDotNet.RepresentationModel;

namespace Host.Tests;

/// <summary>
/// Issue 24 §3, the seed's fallback (`kube_auth: service-account-token`): the first kubeconfig
/// names a tokenFile, the secrets step stages the person's own token there from stdin (0600, the
/// person's), and the token is in no process's argument vector on the way.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class KubeTokenTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(90))
{
    private const string Token = "eyJhbGciOiJSUzI1NiJ9.kt-fixture-sa-token-3e7b";

    /// <summary>The current context's user entry, as kubectl resolves it: its keys and values.</summary>
    private static IReadOnlyDictionary<string, string> UserOf(string kubeconfig)
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(kubeconfig));
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        string Str(YamlNode n, string key) => ((YamlScalarNode)((YamlMappingNode)n)[key]).Value!;
        YamlNode Named(string list, string name) => ((YamlSequenceNode)root[list]).Single(e => Str(e, "name") == name);
        var user = (YamlMappingNode)Named("users", Str(Named("contexts", Str(root, "current-context"))["context"], "user"))["user"];
        return user.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => kv.Value is YamlScalarNode s ? s.Value! : "(not a scalar)");
    }

    [Fact]
    public async Task A_service_account_token_person_gets_a_tokenfile_kubeconfig_and_their_token_0600_never_in_argv()
    {
        await HostWorld.ReadyAsync(box);
        var u = new TestUser("kt1", 2431, 4641, 4741);
        var d = u.Derived(kubeAuth: KubeAuth.ServiceAccountToken);
        await box.MustAsync(HostCommands.Account(d), timeout: Bounded);

        // Every process's argument vector, sampled while the secrets step stages the token.
        var scan = await ArgvScan.StartAsync(box, "ws-kt-scan", ["kt-fixture-sa-token-3e7b"], "control-8a4c", maxSeconds: 60);
        var secrets = await box.MustAsync(HostCommands.Secrets(d, [SharedSecret.KubeToken], new Dictionary<SharedSecret, int>(), null),
            stdin: $"{{\"kube-token\":\"{Token}\"}}", timeout: Bounded);
        var found = await scan.StopAsync();
        // The sampler saw its control, so it would have seen the token.
        Assert.Contains("control-8a4c", found, StringComparison.Ordinal);
        Assert.DoesNotContain(found.Split('\n'), l => l.Contains("kt-fixture-sa-token-3e7b", StringComparison.Ordinal) && !l.Contains("grep -F", StringComparison.Ordinal));
        Assert.DoesNotContain(Token, secrets.Stdout + secrets.Stderr, StringComparison.Ordinal);

        var tokenFile = $"{u.Home}/.config/workstation/kube-token";
        var kubeconfig = await box.ScriptAsync($"runuser -u {u.Name} -- cat {u.Home}/.kube/config");
        var user = UserOf(kubeconfig);
        Assert.Equal(tokenFile, user.GetValueOrDefault("tokenFile"));
        Assert.False(user.ContainsKey("token"), "the kubeconfig must not hold the token inline");
        Assert.False(user.ContainsKey("exec"), "a service-account-token kubeconfig runs no kubelogin");
        Assert.DoesNotContain(Token, kubeconfig, StringComparison.Ordinal);
        Assert.Equal($"600 {u.Name}", (await box.ScriptAsync($"stat -c '%a %U' {u.Home}/.kube/config")).Trim());

        // The file kubectl reads: the person's own, 0600, exactly the token, readable by them.
        Assert.Equal($"600 {u.Name}", (await box.ScriptAsync($"stat -c '%a %U' {tokenFile}")).Trim());
        Assert.Equal(Token, await box.ScriptAsync($"runuser -u {u.Name} -- cat {tokenFile}"));
    }

    [Fact]
    public async Task Switching_an_existing_person_to_the_token_keeps_their_kubeconfig()
    {
        await HostWorld.ReadyAsync(box);
        var u = new TestUser("kt2", 2432, 4642, 4742);
        await box.MustAsync(u.Account(), timeout: Bounded);
        var before = await box.ScriptAsync($"sha256sum < {u.Home}/.kube/config");
        Assert.Contains("oidc-login", await box.ScriptAsync($"cat {u.Home}/.kube/config"), StringComparison.Ordinal);

        await box.MustAsync(HostCommands.Account(u.Derived(kubeAuth: KubeAuth.ServiceAccountToken)), timeout: Bounded);
        Assert.Equal(before, await box.ScriptAsync($"sha256sum < {u.Home}/.kube/config"));
    }

    [Fact]
    public async Task An_unknown_kube_auth_is_refused_before_anything_is_touched()
    {
        await HostWorld.ReadyAsync(box);
        var r = await box.RunAsync($"{HostCommands.Cli} user account apply kt3 --tier power-user --kube-auth token", timeout: Bounded);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--kube-auth: token is not one of: oidc service-account-token", r.Stderr, StringComparison.Ordinal);
        Assert.Equal("absent", (await box.ScriptAsync("getent passwd kt3 >/dev/null && echo present || echo absent")).Trim());
    }
}

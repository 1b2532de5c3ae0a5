using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace Workstation.Tests;

/// <summary>
/// Issue 24 §1: the first `up` shuts no one out of t3. A stack with Authentik on must name the
/// account the dispatcher runs as (or say `none`), and the t3 application must be set up so that
/// T3 Users membership is what decides who reaches t3.
/// </summary>
public class EdgeGateTests
{
    /// <summary>What `workstation adopt plan` prints for the seed-like box (tests/Host.Tests/EdgeAccountTests).</summary>
    private const string AdoptPlanEdgeUser = "t3-dispatch";

    private static IReadOnlyList<string> Errors(IStackConfig config) =>
        StackSettings.Load(config).Errors.Select(e => e.ToString()).ToList();

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void S1_A_stack_with_Authentik_on_and_no_edge_account_is_refused_naming_edgeUser(string? edge)
    {
        var error = Assert.Single(Errors(Fixture.Config().With(ConfigKeys.EdgeUser, edge)));
        Assert.StartsWith("workstation:edgeUser: required with Authentik on: the account the t3 dispatcher runs as", error, StringComparison.Ordinal);
        Assert.Contains("workstation adopt plan", error, StringComparison.Ordinal);
        Assert.Contains("`pulumi config set edgeUser NAME`, or `none` on purpose", error, StringComparison.Ordinal);
    }

    [Fact]
    public void S1_An_explicit_none_is_accepted_and_the_host_is_told_of_no_edge_account()
    {
        var settings = Fixture.Settings(Fixture.Config().With(ConfigKeys.EdgeUser, "none"));
        Assert.Null(settings.Site.EdgeUser);
        var site = HostCommands.Site(settings.Site, RosterSettings.Default, "wiz");
        Assert.DoesNotContain("--edge-user", site, StringComparison.Ordinal);
        var named = HostCommands.Site(Fixture.Settings(Fixture.Config().With(ConfigKeys.EdgeUser, AdoptPlanEdgeUser)).Site, RosterSettings.Default, "wiz");
        Assert.Contains($" --edge-user {AdoptPlanEdgeUser}", named, StringComparison.Ordinal);
    }

    [Fact]
    public void S1_Without_Authentik_an_unset_edge_account_stays_valid()
    {
        var (settings, errors) = StackSettings.Load(Fixture.Config().With(ConfigKeys.EnableAuthentik, "false").With(ConfigKeys.EdgeUser, null));
        Assert.Empty(errors);
        Assert.Null(settings!.Site.EdgeUser);
    }

    /// <summary>
    /// The devvm stack as committed: Pulumi.yaml's defaults, then Pulumi.devvm.yaml's own values;
    /// the owner's TODOs other than edgeUser filled with the fixture's, the secrets with fake ones.
    /// </summary>
    private static DictConfig StackConfig(string file, params string[] todo)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in Map(Load("Pulumi.yaml"), "config").Children)
        {
            if (((YamlMappingNode)v).Children.TryGetValue(new YamlScalarNode("default"), out var d) && d is YamlScalarNode s)
                values[((YamlScalarNode)k).Value!] = s.Value!;
        }
        var prefix = ConfigKeys.Project + ":";
        foreach (var (k, v) in Map(Load(file), "config").Children)
        {
            var key = ((YamlScalarNode)k).Value!;
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            key = key[prefix.Length..];
            values[key] = v switch
            {
                YamlScalarNode s => s.Value!,
                YamlMappingNode m when m.Children.ContainsKey(new YamlScalarNode("secure")) => Fixture.Config().Get(key) ?? "",
                YamlMappingNode m => JsonSerializer.Serialize(m.Children.ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => ((YamlScalarNode)e.Value).Value)),
                _ => throw new InvalidDataException($"{file}: {key} is neither a value nor a map"),
            };
        }
        var fixture = Fixture.Config();
        foreach (var key in todo) values[key] = fixture.Get(key)!;
        return new DictConfig(values);
    }

    private static readonly string[] DevvmTodos =
    [
        ConfigKeys.SshHostKey, ConfigKeys.RepoUrl, ConfigKeys.OidcIssuer, ConfigKeys.OidcClientId, ConfigKeys.ClusterName,
        ConfigKeys.ClusterServer, ConfigKeys.AuthentikUrl, ConfigKeys.AuthentikT3AppSlug,
    ];

    [Fact]
    public void S1_The_devvm_stack_is_refused_until_its_edge_account_is_set_then_accepted_with_what_adopt_plan_prints()
    {
        var devvm = StackConfig("Pulumi.devvm.yaml", DevvmTodos);
        Assert.Null(devvm.Get(ConfigKeys.EdgeUser) is { Length: > 0 } e ? e : null);
        var error = Assert.Single(Errors(devvm));
        Assert.StartsWith("workstation:edgeUser: required with Authentik on", error, StringComparison.Ordinal);

        var (settings, errors) = StackSettings.Load(devvm.With(ConfigKeys.EdgeUser, AdoptPlanEdgeUser));
        Assert.Empty(errors);
        Assert.Equal(AdoptPlanEdgeUser, settings!.Site.EdgeUser);
    }

    [Fact]
    public void S1_The_devvm_stack_names_edgeUser_in_a_TODO_line()
    {
        var text = File.ReadAllLines(Path.Combine(Repo.Root, "Pulumi.devvm.yaml"));
        Assert.Contains(text, l => l.TrimStart().StartsWith("# TODO", StringComparison.Ordinal) && l.Contains("dispatcher", StringComparison.Ordinal));
        Assert.Contains(text, l => l.TrimStart().StartsWith($"# {ConfigKeys.Full(ConfigKeys.EdgeUser)}:", StringComparison.Ordinal));
    }

    [Fact]
    public void S1_The_sandbox_stack_with_Authentik_off_stays_valid()
    {
        var sandbox = StackConfig("Pulumi.sandbox.yaml", ConfigKeys.SshHostKey, ConfigKeys.SshPrivateKey);
        Assert.Empty(Errors(sandbox));
    }

    private static Task<Run> RunAsync(MockWorld world, bool preview) =>
        Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs, world, preview);

    /// <summary>The preview of <paramref name="world"/> fails, and its error says each of <paramref name="reasons"/>.</summary>
    private static async Task AssertRefusedAsync(MockWorld world, params string[] reasons)
    {
        var message = (await Assert.ThrowsAnyAsync<Exception>(() => RunAsync(world, preview: true))).ToString();
        Assert.All(reasons, reason => Assert.Contains(reason, message, StringComparison.Ordinal));
    }

    [Fact]
    public Task S1_An_application_in_policy_engine_mode_any_is_refused_with_the_reason() =>
        AssertRefusedAsync(new MockWorld { T3AppEngineMode = "any" },
            "the edge gate can't hold: the Authentik application 't3' has policy engine mode 'any'",
            "another binding that passes",
            "Set the application's Policy engine mode to 'all'");

    [Fact]
    public Task S1_A_shared_domain_level_application_is_refused_with_the_reason() =>
        AssertRefusedAsync(new MockWorld { T3ProxyMode = "forward_domain" },
            "the edge gate can't hold: the Authentik application 't3' is served by a proxy provider in mode 'forward_domain'",
            "a domain-level application is shared by every host under its cookie domain");

    [Fact]
    public async Task S1_A_per_host_application_in_mode_all_gets_the_group_binding_after_reading_its_provider()
    {
        var run = await RunAsync(MockWorld.Default, preview: false);
        var binding = run.Named(Types.AuthentikBinding, $"{WorkstationStack.AuthentikName}-t3-users-only-binding");
        Assert.Equal(MockWorld.AppUuid(Fixture.T3AppSlug), binding.Str("target"));
        var provider = run.Named(Types.AuthentikProxyProvider, $"{WorkstationStack.AuthentikName}-t3-app-provider");
        Assert.Equal("7", provider.ReadId);
    }

    private static YamlMappingNode Load(string file)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(Repo.Root, file))));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static YamlMappingNode Map(YamlMappingNode node, string key) => (YamlMappingNode)node.Children[new YamlScalarNode(key)];
}

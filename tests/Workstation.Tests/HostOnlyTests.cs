namespace Workstation.Tests;

/// <summary>A stack with the cluster, Vault and Authentik layers switched off: the host layer alone, exactly as in the full stack.</summary>
public class HostOnlyTests
{
    private static DictConfig HostOnly() => Fixture.Config()
        .With(ConfigKeys.EnableKubernetes, "false").With(ConfigKeys.EnableVault, "false").With(ConfigKeys.EnableAuthentik, "false")
        // Keys only the switched-off layers read: not needed.
        .With(ConfigKeys.AuthentikUrl, null).With(ConfigKeys.AuthentikToken, null).With(ConfigKeys.AuthentikT3AppSlug, null)
        .With(ConfigKeys.Kubeconfig, null).With(ConfigKeys.VaultToken, null)
        // Shared secrets are read from Vault: a stack without it stages none.
        .With(ConfigKeys.VaultSecrets, null).With(ConfigKeys.MemoryMcpUrl, null);

    private static readonly string[] OtherSystems = ["kubernetes:", "vault:", "authentik:", "pulumi:providers:kubernetes", "pulumi:providers:vault", "pulumi:providers:authentik"];

    [Fact]
    public async Task A_host_only_stack_registers_no_cluster_vault_or_authentik_resource_provider_or_lookup()
    {
        var run = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(HostOnly()), Fixture.Bundle).Outputs);
        Assert.DoesNotContain(run.Registrations, r => OtherSystems.Any(p => r.Type.StartsWith(p, StringComparison.Ordinal)));
        Assert.Empty(run.Calls!);
        Assert.NotEmpty(run.Registrations);
    }

    [Fact]
    public async Task Its_host_resources_are_the_full_stacks_byte_for_byte()
    {
        var full = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);
        var hostOnly = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(HostOnly()), Fixture.Bundle).Outputs);
        // The secrets steps stage what Vault holds: the one host step a Vault-less stack lacks.
        // The code step waits for the repo token only where the stack stages it (issue 24 §4).
        static IEnumerable<(string, string)> Host(Run run) => run.Registrations
            .Where(r => r.Type == Types.Command && !r.Name.EndsWith("-secrets", StringComparison.Ordinal))
            .Select(r => (r.Key, r.Canonical.Replace(" --repo-token", "", StringComparison.Ordinal))).Order();
        Assert.Equal(Host(full), Host(hostOnly));
        Assert.Equal(15, Host(hostOnly).Count());
        Assert.DoesNotContain(hostOnly.Registrations, r => r.Name.EndsWith("-secrets", StringComparison.Ordinal));
        // The components are still there, one per person, so adding a layer later moves no URN.
        Assert.Equal(full.Registrations.Count(r => r.Type == WorkstationUser.Type), hostOnly.Registrations.Count(r => r.Type == WorkstationUser.Type));
    }

    [Fact]
    public void A_switch_that_is_not_true_or_false_is_refused_with_its_key()
    {
        var (settings, errors) = StackSettings.Load(Fixture.Config().With(ConfigKeys.EnableVault, "no"));
        Assert.Null(settings);
        Assert.Contains(errors, e => e.ToString() == "workstation:enableVault: 'no' is not true or false");
    }

    [Fact]
    public void With_authentik_on_its_keys_are_still_required()
    {
        var (settings, errors) = StackSettings.Load(Fixture.Config().With(ConfigKeys.AuthentikToken, null));
        Assert.Null(settings);
        Assert.Contains(errors, e => e.Key == ConfigKeys.AuthentikToken);
    }

    /// <summary>'' is a deliberate "no repository" (the sandbox stack): the host then clones nothing.</summary>
    [Fact]
    public void An_empty_repo_url_means_no_clone_and_unset_is_still_required()
    {
        var (settings, errors) = StackSettings.Load(HostOnly().With(ConfigKeys.RepoUrl, ""));
        Assert.Empty(errors);
        Assert.Equal("", settings!.Site.RepoUrl);
        Assert.Contains(" --repo-url '' ", Workstation.Roster.HostCommands.Site(settings.Site, Workstation.Roster.RosterSettings.Default, "wiz"), StringComparison.Ordinal);
        var (_, unset) = StackSettings.Load(HostOnly().With(ConfigKeys.RepoUrl, null));
        Assert.Contains(unset, e => e.Key == ConfigKeys.RepoUrl);
    }
}

using Pulumi.Utilities;

namespace Workstation.Tests;

/// <summary>Which resources the golden roster produces, per tier and for the admin, and what the stack exports.</summary>
public class ResourceSetTests
{

    private static Task<Run> GoldenRun() =>
        Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);

    [Fact]
    public async Task The_golden_roster_registers_exactly_the_shared_resources_and_each_persons_own()
    {
        var run = await GoldenRun();
        string[] expected =
        [
            // Authentik: one component holds all of it.
            $"{Types.AuthentikApp}::workstation-authentik-t3-app",
            $"{Types.AuthentikGroup}::workstation-authentik-t3-users",
            $"{Types.AuthentikBinding}::workstation-authentik-t3-users-only-binding",
            $"{Types.AuthentikPolicy}::workstation-authentik-t3-users-only",
            $"{Types.AuthentikProxyProvider}::workstation-authentik-t3-app-provider",
            $"{Types.Command}::alice-account",
            $"{Types.Command}::alice-code",
            $"{Types.Command}::alice-cut",
            $"{Types.Command}::alice-secrets",
            $"{Types.Command}::alice-services",
            $"{Types.Command}::bob-account",
            $"{Types.Command}::bob-code",
            $"{Types.Command}::bob-cut",
            $"{Types.Command}::bob-secrets",
            $"{Types.Command}::bob-services",
            $"{Types.Command}::wiz-account",
            $"{Types.Command}::wiz-code",
            $"{Types.Command}::wiz-secrets",
            $"{Types.Command}::wiz-services",
            $"{Types.Command}::workstation-base",
            $"{Types.Command}::workstation-install",
            $"{Types.Command}::workstation-maps",
            $"{Types.Command}::workstation-site",
            $"{Types.ClusterRole}::workstation-power-user-readonly",
            $"{Types.ClusterRoleBinding}::alice-k8s-power-user-readonly",
            $"{Types.RoleBinding}::bob-k8s-team-b-admin",
            $"{Types.AuthentikProvider}::workstation-authentik-provider",
            $"{Types.K8sProvider}::workstation-k8s",
            $"{Types.VaultProvider}::workstation-vault",
            $"{Types.VaultEntity}::alice-vault-entity",
            $"{Types.VaultEntity}::bob-vault-entity",
            $"{Types.VaultEntity}::carol-vault-entity", // retired: disabled, no policies
            $"{Types.VaultEntity}::wiz-vault-entity",
            $"{Types.VaultAlias}::alice-vault-alias",
            $"{Types.VaultAlias}::bob-vault-alias",
            $"{Types.VaultAlias}::wiz-vault-alias",
            $"{Types.VaultEntityPolicies}::alice-vault-policies",
            $"{Types.VaultEntityPolicies}::bob-vault-policies",
            $"{Types.VaultEntityPolicies}::wiz-vault-policies",
            $"{Types.VaultPolicy}::alice-vault-policy",
            $"{Types.VaultPolicy}::bob-vault-policy",
            $"{Types.VaultPolicy}::wiz-vault-policy",
            $"{AuthentikEdge.Type}::workstation-authentik",
            $"{WorkstationBase.Type}::workstation",
            $"{WorkstationUser.Type}::alice",
            $"{WorkstationUser.Type}::bob",
            $"{WorkstationUser.Type}::carol",
            $"{WorkstationUser.Type}::wiz",
        ];
        Assert.Equal(expected, run.Registrations.Select(r => r.Key).Order(StringComparer.Ordinal));
        // The retired user (no authentik_user in the tombstone): the component and the disabled entity, nothing else.
        Assert.Equal([$"{Types.VaultEntity}::carol-vault-entity", $"{WorkstationUser.Type}::carol"],
            run.Registrations.Where(r => r.Name.Contains("carol", StringComparison.Ordinal)).Select(r => r.Key).Order(StringComparer.Ordinal));
        // The only reads: the t3 application and its provider (the golden roster has no external bindings).
        Assert.Equal(["workstation-authentik-t3-app", "workstation-authentik-t3-app-provider"], run.Registrations.Where(r => r.IsRead).Select(r => r.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("wiz", "admin", new string[0])]
    [InlineData("alice", "power-user", new[] { Types.ClusterRoleBinding + "::alice-k8s-power-user-readonly" })]
    [InlineData("bob", "namespace-owner", new[] { Types.RoleBinding + "::bob-k8s-team-b-admin" })]
    public async Task Each_tier_gets_one_component_with_its_host_command_bindings_and_vault_identity_parented_to_it(string user, string tier, string[] bindings)
    {
        var run = await GoldenRun();
        var mine = run.Registrations.Where(r => r.Name == user || r.Name.StartsWith(user + "-", StringComparison.Ordinal))
            .Select(r => r.Key).Order(StringComparer.Ordinal);
        string[] expected =
        [
            $"{Types.Command}::{user}-account",
            $"{Types.Command}::{user}-code",
            .. user == "wiz" ? Array.Empty<string>() : [$"{Types.Command}::{user}-cut"], // never the admin's
            $"{Types.Command}::{user}-secrets",
            $"{Types.Command}::{user}-services",
            .. bindings,
            $"{Types.VaultEntity}::{user}-vault-entity",
            $"{Types.VaultAlias}::{user}-vault-alias",
            $"{Types.VaultEntityPolicies}::{user}-vault-policies",
            $"{Types.VaultPolicy}::{user}-vault-policy",
            $"{WorkstationUser.Type}::{user}",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), mine);

        var component = run.Resources.OfType<WorkstationUser>().Single(c => c.GetResourceName() == user);
        Assert.Equal(tier, await OutputUtilities.GetValueAsync(component.Tier));

        // The test monitor's URNs drop intermediate parents, so read the Parent option as constructed.
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);
        foreach (var key in expected.Where(k => !k.StartsWith(WorkstationUser.Type, StringComparison.Ordinal)))
        {
            var name = key[(key.LastIndexOf("::", StringComparison.Ordinal) + 2)..];
            var child = constructed.Single(c => c.Resource.GetResourceName() == name);
            Assert.IsType<WorkstationUser>(child.Options.Parent);
            Assert.Equal(user, child.Options.Parent!.GetResourceName());
        }
    }

    [Fact]
    public async Task The_base_steps_are_children_of_the_base_component_and_ordered_install_base_site_users_maps()
    {
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);
        var @base = constructed.Select(c => c.Resource).OfType<WorkstationBase>().Single();
        foreach (var step in new[] { @base.Install, @base.Base, @base.Site })
            Assert.Same(@base, constructed.Single(c => ReferenceEquals(c.Resource, step)).Options.Parent);

        async Task<IReadOnlyList<Resource>> After(Resource r) => await Probe.DependsOnAsync(constructed.Single(c => ReferenceEquals(c.Resource, r)));

        Assert.Equal([@base.Install], await After(@base.Base));
        Assert.Equal([@base.Base], await After(@base.Site));
        var users = constructed.Select(c => c.Resource).OfType<WorkstationUser>().Where(u => u.AccountStep is not null).ToList();
        Assert.Equal(3, users.Count);
        foreach (var u in users)
        {
            // The account first (after the base), then the clone and the services; so a delete
            // runs `user services stop` before `user suspend`.
            Assert.Equal([@base.Install, @base.Base, @base.Site], await After(u.AccountStep!));
            Assert.Equal([u.AccountStep!], await After(u.CodeStep!));
            Assert.Equal([u.AccountStep!], await After(u.ServicesStep!));
        }

        // The maps step is a top-level Command of its own (it follows every person, not the base), after
        // every account step and no other person step (issue 24 §4: a failing clone never holds up the maps).
        var maps = constructed.Select(c => c.Resource).OfType<Pulumi.Command.Remote.Command>().Single(c => c.GetResourceName() == WorkstationStack.MapsName);
        Assert.Null(constructed.Single(c => ReferenceEquals(c.Resource, maps)).Options.Parent);
        var mapsAfter = await After(maps);
        Assert.All(users, u => Assert.Contains(u.AccountStep!, mapsAfter));
        Assert.All(users, u => Assert.DoesNotContain(u.CodeStep!, mapsAfter));
        Assert.All(users, u => Assert.DoesNotContain(u.ServicesStep!, mapsAfter));
        // The retired user has no host step, so the maps step doesn't wait for it.
        var carol = constructed.Select(c => c.Resource).OfType<WorkstationUser>().Single(u => u.GetResourceName() == "carol");
        Assert.Null(carol.AccountStep);
        Assert.Null(carol.CodeStep);
        Assert.Null(carol.ServicesStep);
        Assert.DoesNotContain(mapsAfter, r => r.GetResourceName().StartsWith("carol", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_stack_exports_ports_services_tier_and_state_per_user_retired_ones_included()
    {
        var run = await GoldenRun();
        var outputs = (IDictionary<string, object?>)(await Harness.ResolveAsync(run.Outputs))!;
        Assert.Equal("wiz", outputs["admin"]);
        var users = (IDictionary<string, object?>)outputs["users"]!;
        Assert.Equal(["alice", "bob", "carol", "wiz"], users.Keys);
        var alice = (IDictionary<string, object?>)users["alice"]!;
        Assert.Equal("power-user", alice["tier"]);
        Assert.Equal("active", alice["state"]);
        var ports = (IDictionary<string, object?>)alice["ports"]!;
        Assert.Equal(3774, ports["t3"]);
        Assert.Equal(8932, ports["playwright"]);
        Assert.Equal(
            ["playwright-mcp@alice.service", "playwright-snapshot-refresh@alice.timer", "t3-serve@alice.service"],
            ((IEnumerable<object?>)alice["services"]!).Cast<string>());
        Assert.Equal(Fixture.Bundle.Sha256, outputs["hostContentSha256"]);
        // Same shape for a retired user: its reserved ports, no services.
        var carol = (IDictionary<string, object?>)users["carol"]!;
        Assert.Equal("retired", carol["tier"]);
        Assert.Equal("retired", carol["state"]);
        Assert.Equal(3776, ((IDictionary<string, object?>)carol["ports"]!)["t3"]);
        Assert.Empty((IEnumerable<object?>)carol["services"]!);
    }
}

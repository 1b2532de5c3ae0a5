using Pulumi;
using Pulumi.Utilities;
using Workstation.Components;
using Workstation.Tests.Support;
using Xunit;

namespace Workstation.Tests;

/// <summary>
/// Lifecycle states: retiring (users: to retired:) keeps the component and a disabled Vault
/// entity under the same URNs; bringing back restores the active state byte for byte; deleting
/// outright removes everything. Nothing of anyone else changes in any of these.
/// </summary>
public class LifecycleTests
{

    private static Task<Run> RunAsync(string rosterText) =>
        Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(rosterText), Fixture.Settings(), Fixture.Bundle).Outputs);

    /// <summary>The golden roster with bob moved to retired:, keeping uid and ports (and his logins when <paramref name="withLogins"/>).</summary>
    private static string BobRetired(bool withLogins)
    {
        return RosterEdit.Golden().Retire("bob", keepLogin: withLogins).Text();
    }

    /// <summary>What a retire (or a bring-back, read backwards) changes: bob's revocations and the two shared lists.</summary>
    private static readonly string[] RetireChanges =
    [
        Types.T3UsersGroupKey, // bob's pk leaves the member list
        $"{Types.Command}::bob-account", // deleted: `user suspend`, after the services step
        $"{Types.Command}::bob-code", // deleted: nothing runs, the home is kept
        $"{Types.Command}::bob-services", // deleted: `user services stop`
        $"{Types.Command}::workstation-maps",
        $"{Types.RoleBinding}::bob-k8s-team-b-admin",
        $"{Types.VaultEntity}::bob-vault-entity", // updated in place: disabled, no policies
        $"{Types.VaultPolicy}::bob-vault-policy",
    ];

    private static async Task<IReadOnlyDictionary<string, string>> UrnsOf(Run run, string user)
    {
        var urns = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var r in run.Resources.Where(r => r.GetResourceName() == user || r.GetResourceName().StartsWith(user + "-", StringComparison.Ordinal)))
            urns[r.GetResourceName()] = await OutputUtilities.GetValueAsync(r.Urn);
        return urns;
    }

    private static IEnumerable<string> KeysOf(Run run, string user) =>
        run.Registrations.Where(r => r.Name == user || r.Name.StartsWith(user + "-", StringComparison.Ordinal)).Select(r => r.Key).Order(StringComparer.Ordinal);

    private static IEnumerable<int> Members(Run run) =>
        ((System.Collections.IEnumerable)run.ByKey[Types.T3UsersGroupKey].Inputs["users"]).Cast<object>().Select(Convert.ToInt32);

    [Fact]
    public async Task Retiring_keeps_the_component_and_a_disabled_entity_and_alias_under_the_same_urns_and_revokes_the_rest()
    {
        var active = await RunAsync(Fixture.RosterText);
        var retired = await RunAsync(BobRetired(withLogins: true));

        Assert.Equal(RetireChanges, DiffTests.Changed(active, retired));
        Assert.Equal([$"{Types.VaultEntity}::bob-vault-entity", $"{Types.VaultAlias}::bob-vault-alias", $"{WorkstationUser.Type}::bob"], KeysOf(retired, "bob"));
        Assert.Equal(
            """{"disabled":true,"externalPolicies":false,"metadata":{"authentik_user":"bob.b","managed-by":"workstation","os_user":"bob"},"name":"bob","policies":[]}""",
            retired.Named(Types.VaultEntity, "bob-vault-entity").Canonical);
        // The alias is unchanged, so a later OIDC login still maps to the (now disabled) entity.
        Assert.Equal(active.Named(Types.VaultAlias, "bob-vault-alias").Canonical, retired.Named(Types.VaultAlias, "bob-vault-alias").Canonical);

        // Same type and name, so the same URNs: Pulumi shows updates and deletes, never a replace.
        var before = await UrnsOf(active, "bob");
        var after = await UrnsOf(retired, "bob");
        Assert.Equal(["bob", "bob-vault-alias", "bob-vault-entity"], after.Keys);
        Assert.All(after, kv => Assert.Equal(before[kv.Key], kv.Value));
        // And the component's URN is the one it had before one Member type replaced two Args types
        // (its children's parent is pinned below; the mocks' URNs leave intermediate parents out).
        Assert.Equal($"urn:pulumi:devvm::workstation::pulumi:pulumi:Stack${WorkstationUser.Type}::bob", after["bob"]);

        Assert.DoesNotContain(MockWorld.Pk("bob.b"), Members(retired));
        Assert.DoesNotContain("bob", retired.Command("workstation-maps").Str("create"), StringComparison.Ordinal);
        Assert.Equal(Fixture.GoldenCommands()["suspend:bob"], active.Command("bob-account").Str("delete"));
        Assert.Equal(Fixture.GoldenCommands()["stop:bob"], active.Command("bob-services").Str("delete"));

        var users = (IDictionary<string, object?>)(await Harness.ResolveAsync(retired.Outputs["users"]))!;
        var bob = (IDictionary<string, object?>)users["bob"]!;
        Assert.Equal("retired", bob["tier"]);
        Assert.Equal("retired", bob["state"]);
        Assert.Equal(8933, ((IDictionary<string, object?>)bob["ports"]!)["playwright"]);
    }

    /// <summary>A `pulumi destroy` (or anything that deletes the admin's steps) replays no delete for the admin.</summary>
    [Fact]
    public async Task Automation_never_cuts_the_admin_their_host_steps_have_no_delete()
    {
        var run = await RunAsync(Fixture.RosterText);
        foreach (var step in new[] { "account", "code", "services" })
            Assert.False(run.Command($"wiz-{step}").Inputs.ContainsKey("delete"), $"wiz-{step} has a delete");
        // Everyone else's cut is still there.
        Assert.Equal(Fixture.GoldenCommands()["suspend:alice"], run.Command("alice-account").Str("delete"));
        Assert.Equal(Fixture.GoldenCommands()["stop:alice"], run.Command("alice-services").Str("delete"));
        // The site step tells the host who the admin is, so `user suspend` refuses them there too.
        Assert.Contains(" --admin wiz", run.Command("workstation-site").Str("create"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_retired_users_vault_objects_stay_children_of_their_component()
    {
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(BobRetired(withLogins: true)), Fixture.Settings(), Fixture.Bundle).Outputs);
        foreach (var name in new[] { "bob-vault-entity", "bob-vault-alias" })
        {
            var child = constructed.Single(c => c.Resource.GetResourceName() == name);
            Assert.IsType<WorkstationUser>(child.Options.Parent);
            Assert.Equal("bob", child.Options.Parent!.GetResourceName());
        }
    }

    [Fact]
    public async Task Retiring_without_an_authentik_user_also_drops_the_alias()
    {
        var active = await RunAsync(Fixture.RosterText);
        var retired = await RunAsync(BobRetired(withLogins: false));

        Assert.Equal(RetireChanges.Append($"{Types.VaultAlias}::bob-vault-alias").Order(StringComparer.Ordinal), DiffTests.Changed(active, retired));
        Assert.Equal([$"{Types.VaultEntity}::bob-vault-entity", $"{WorkstationUser.Type}::bob"], KeysOf(retired, "bob"));
        Assert.Equal(
            """{"disabled":true,"externalPolicies":false,"metadata":{"managed-by":"workstation","os_user":"bob"},"name":"bob","policies":[]}""",
            retired.Named(Types.VaultEntity, "bob-vault-entity").Canonical);
    }

    [Fact]
    public async Task Bringing_a_retired_user_back_restores_the_active_state_byte_for_byte()
    {
        var retired = await RunAsync(BobRetired(withLogins: true));
        var back = await RunAsync(Fixture.RosterText);
        var original = await RunAsync(Fixture.RosterText);

        Assert.Equal(RetireChanges, DiffTests.Changed(retired, back));
        Assert.Equal(original.Canonical, back.Canonical);
        Assert.Contains("\"disabled\":false", back.Named(Types.VaultEntity, "bob-vault-entity").Canonical, StringComparison.Ordinal);
        // New host steps: `user account apply` resumes the suspended account with the same uid, then the
        // clone (kept, so nothing to do) and the services on the same ports.
        Assert.Equal(Fixture.GoldenCommands()["account:bob"], back.Command("bob-account").Str("create"));
        Assert.Equal(Fixture.GoldenCommands()["code:bob"], back.Command("bob-code").Str("create"));
        Assert.Equal(Fixture.GoldenCommands()["services:bob"], back.Command("bob-services").Str("create"));
        Assert.Contains(MockWorld.Pk("bob.b"), Members(back));
    }

    [Fact]
    public async Task Deleting_a_tombstone_outright_deletes_its_entity_and_component_and_nothing_else()
    {
        var with = await RunAsync(Fixture.RosterText);
        var without = await RunAsync(RosterEdit.Golden().RemoveRetired("carol").Text());

        Assert.Equal([$"{Types.VaultEntity}::carol-vault-entity", $"{WorkstationUser.Type}::carol"], DiffTests.Changed(with, without));
        Assert.Empty(KeysOf(without, "carol"));
    }

    [Fact]
    public async Task Deleting_an_active_user_outright_deletes_the_vault_identity_too()
    {
        var active = await RunAsync(Fixture.RosterText);
        var deleted = await RunAsync(RosterEdit.Golden().Remove("bob").Text());

        Assert.Empty(KeysOf(deleted, "bob"));
        Assert.Equal(
            RetireChanges.Concat([$"{Types.VaultAlias}::bob-vault-alias", $"{WorkstationUser.Type}::bob"]).Order(StringComparer.Ordinal),
            DiffTests.Changed(active, deleted));
    }
}

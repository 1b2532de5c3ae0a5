using System.Text.RegularExpressions;
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
        var text = Regex.Replace(Fixture.RosterText, @"(?ms)^  bob:\n.*?(?=^retired:)", "");
        Assert.DoesNotContain("bob:", text, StringComparison.Ordinal);
        var logins = withLogins ? " authentik_user: bob.b, k8s_user: bob," : "";
        return text + $"  bob: {{ uid: 2002,{logins} ports: {{ t3: 3775, playwright: 8933 }} }}\n";
    }

    /// <summary>What a retire (or a bring-back, read backwards) changes: bob's revocations and the two shared lists.</summary>
    private static readonly string[] RetireChanges =
    [
        Types.T3UsersGroupKey, // bob's pk leaves the member list
        "command:remote:Command::bob-account", // deleted: `user suspend`, after the services step
        "command:remote:Command::bob-code", // deleted: nothing runs, the home is kept
        "command:remote:Command::bob-services", // deleted: `user services stop`
        "command:remote:Command::workstation-maps",
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding::bob-k8s-team-b-admin",
        "vault:identity/entity:Entity::bob-vault-entity", // updated in place: disabled, no policies
        "vault:index/policy:Policy::bob-vault-policy",
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

        Assert.Equal(RetireChanges.Append("vault:identity/entityAlias:EntityAlias::bob-vault-alias").Order(StringComparer.Ordinal), DiffTests.Changed(active, retired));
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
        var without = await RunAsync(Regex.Replace(Fixture.RosterText, @"(?m)^  carol: .*\n", ""));

        Assert.Equal(["vault:identity/entity:Entity::carol-vault-entity", $"{WorkstationUser.Type}::carol"], DiffTests.Changed(with, without));
        Assert.Empty(KeysOf(without, "carol"));
    }

    [Fact]
    public async Task Deleting_an_active_user_outright_deletes_the_vault_identity_too()
    {
        var active = await RunAsync(Fixture.RosterText);
        var deleted = await RunAsync(Regex.Replace(Fixture.RosterText, @"(?ms)^  bob:\n.*?(?=^retired:)", ""));

        Assert.Empty(KeysOf(deleted, "bob"));
        Assert.Equal(
            RetireChanges.Concat(["vault:identity/entityAlias:EntityAlias::bob-vault-alias", $"{WorkstationUser.Type}::bob"]).Order(StringComparer.Ordinal),
            DiffTests.Changed(active, deleted));
    }
}

using Pulumi;
using Pulumi.Utilities;
using Workstation.Components;
using Workstation.Roster;
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
        $"{Types.Command}::bob-secrets", // deleted: `user secrets remove`, before the account's
        $"{Types.Command}::bob-services", // deleted: `user services stop`
        $"{Types.Command}::workstation-maps",
        $"{Types.RoleBinding}::bob-k8s-team-b-admin",
        $"{Types.VaultEntity}::bob-vault-entity", // updated in place: disabled
        $"{Types.VaultEntityPolicies}::bob-vault-policies", // deleted: our policy detached, any other kept
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
            """{"disabled":true,"externalPolicies":true,"metadata":{"authentik_user":"bob.b","managed-by":"workstation","os_user":"bob"},"name":"bob"}""",
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

    /// <summary>
    /// `purge: true` on a tombstone: one new step, `user purge` with the archive folder and the
    /// pinned uid, and the Vault identity deleted (only here); nothing else of anyone changes.
    /// </summary>
    [Fact]
    public async Task Purging_a_tombstone_adds_the_purge_step_and_deletes_only_that_persons_identity()
    {
        var retired = await RunAsync(BobRetired(withLogins: true));
        var purged = await RunAsync(RosterEdit.Of(BobRetired(withLogins: true)).Purge("bob").Text());

        Assert.Equal(
            [$"{Types.Command}::bob-purge", $"{Types.VaultEntity}::bob-vault-entity", $"{Types.VaultAlias}::bob-vault-alias"],
            DiffTests.Changed(retired, purged));
        var purge = purged.Command("bob-purge");
        Assert.Equal(HostCommands.Purge(new RetiredUser("bob", 2002, new Ports(3775, 8933)), StackSettings.DefaultPurgeArchiveDir),
            purge.Str("create"));
        Assert.Equal("/usr/local/lib/workstation/bin/workstation user purge bob --archive-dir /var/backups/workstation/homes --uid 2002", purge.Str("create"));
        Assert.False(purge.Inputs.ContainsKey("update"));
        Assert.False(purge.Inputs.ContainsKey("delete")); // undone by hand only: `user restore`
        // The tombstone still reserves uid and ports, and says what happened.
        var users = (IDictionary<string, object?>)(await Harness.ResolveAsync(purged.Outputs["users"]))!;
        var bob = (IDictionary<string, object?>)users["bob"]!;
        Assert.Equal("purged", bob["state"]);
        Assert.Equal(8933, ((IDictionary<string, object?>)bob["ports"]!)["playwright"]);
        // carol, retired without purge, keeps her disabled entity.
        Assert.Contains(purged.Registrations, r => r.Key == $"{Types.VaultEntity}::carol-vault-entity");
    }

    /// <summary>
    /// One person's problem (here an Authentik name for alice) stops the whole up, so the deletes
    /// that cut the people under retired: never run. The error ends with the targeted up that cuts
    /// them now: every resource a retire deletes or updates, by URN, nobody else's.
    /// </summary>
    [Fact]
    public async Task An_error_about_someone_else_names_the_targeted_up_that_cuts_the_retired_now()
    {
        var world = new MockWorld { UnknownAuthentikUsers = new HashSet<string> { "alice.a" } };
        var e = await Assert.ThrowsAnyAsync<Exception>(() => Harness.RunAsync(
            () => WorkstationStack.Build(Fixture.Roster(BobRetired(withLogins: true)), Fixture.Settings(), Fixture.Bundle).Outputs, world));
        const string P = "--target 'urn:pulumi:devvm::workstation::workstation:index:WorkstationUser$";
        Assert.Contains(
            "This also holds up the cut of the people under retired: (it runs at the end of a successful up). To cut them now: pulumi up --stack devvm " +
            P + "command:remote:Command::bob-services' " +
            P + "command:remote:Command::bob-code' " +
            P + "command:remote:Command::bob-account' " +
            P + "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding::bob-k8s-power-user-readonly' " +
            P + "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding::bob-k8s-*-admin' " +
            P + "vault:index/policy:Policy::bob-vault-policy' " +
            P + "vault:identity/entityPolicies:EntityPolicies::bob-vault-policies' " +
            P + "vault:identity/entity:Entity::bob-vault-entity' " +
            P + "command:remote:Command::carol-services' ",
            e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("::alice-", e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("::wiz-", e.ToString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// The targets are the URNs the engine gives a person's resources: the component's type, then
    /// the child's type and name (the root stack is left out of the chain; the mock monitor's own
    /// URNs leave the parent out, so they are built here from each child's type, name and parent).
    /// </summary>
    [Fact]
    public async Task The_offboarding_targets_name_the_resources_the_program_registers()
    {
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);
        var urns = constructed.Where(c => c.Options.Parent is WorkstationUser)
            .Select(c => $"urn:pulumi:devvm::workstation::{WorkstationUser.Type}${c.Resource.GetResourceType()}::{c.Resource.GetResourceName()}")
            .ToHashSet(StringComparer.Ordinal);
        var targets = Offboarding.Targets("devvm", "workstation", "bob").ToList();
        var glob = Assert.Single(targets, t => t.Contains('*', StringComparison.Ordinal));
        // bob is a namespace-owner: every literal target but the power-user binding is one of his URNs ...
        Assert.Equal(targets.Where(t => t != glob && !t.EndsWith("-power-user-readonly", StringComparison.Ordinal)),
            targets.Where(t => t != glob && urns.Contains(t)));
        // ... the glob (as the engine reads it: '*' within one URN part) matches his RoleBinding and nobody else's ...
        var matcher = new System.Text.RegularExpressions.Regex(
            "^" + System.Text.RegularExpressions.Regex.Escape(glob).Replace("\\*", "[^:]*", StringComparison.Ordinal) + "$");
        Assert.Equal([$"urn:pulumi:devvm::workstation::{WorkstationUser.Type}${Types.RoleBinding}::bob-k8s-team-b-admin"], urns.Where(u => matcher.IsMatch(u)));
        // ... and alice, a power-user, has the binding target.
        Assert.Contains(Offboarding.Targets("devvm", "workstation", "alice").Single(t => t.EndsWith("-power-user-readonly", StringComparison.Ordinal)), urns);
        // A purged tombstone has nothing left to cut.
        Assert.Null(Offboarding.TargetedUp("devvm", "workstation", [new RetiredUser("bob", 2002, new Ports(3775, 8933), Purge: true)]));
    }

    /// <summary>A `pulumi destroy` (or anything that deletes the admin's steps) replays no delete for the admin.</summary>
    [Fact]
    public async Task Automation_never_cuts_the_admin_their_host_steps_have_no_delete()
    {
        var run = await RunAsync(Fixture.RosterText);
        foreach (var step in new[] { "account", "code", "services", "secrets" })
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
            """{"disabled":true,"externalPolicies":true,"metadata":{"managed-by":"workstation","os_user":"bob"},"name":"bob"}""",
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

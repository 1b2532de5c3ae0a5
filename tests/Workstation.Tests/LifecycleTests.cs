using Pulumi.Utilities;

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
        $"{Types.Command}::bob-cut", // deleted first: `user suspend`, the cut, before anything reads the home
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

    /// <summary>The targets of the targeted up an error names (what the operator copies).</summary>
    private static List<string> HintTargets(Exception e) =>
        System.Text.RegularExpressions.Regex.Matches(
                System.Text.RegularExpressions.Regex.Match(e.ToString(), "To cut them now: pulumi up --stack devvm ((?:--target '[^']*' ?)+)").Groups[1].Value,
                "--target '([^']*)'")
            .Select(m => m.Groups[1].Value).ToList();

    /// <summary>
    /// One person's problem (here an Authentik name for alice) stops the whole up, so the deletes
    /// that cut the people under retired: never run. The error ends with the targeted up that cuts
    /// them now: every resource a retire deletes or updates, the secrets and cut steps included,
    /// nobody else's.
    /// </summary>
    [Fact]
    public async Task An_error_about_someone_else_names_the_targeted_up_that_cuts_the_retired_now()
    {
        var world = new MockWorld { UnknownAuthentikUsers = new HashSet<string> { "alice.a" } };
        var roster = Fixture.Roster(BobRetired(withLogins: true));
        var e = await Assert.ThrowsAnyAsync<Exception>(() => Harness.RunAsync(
            () => WorkstationStack.Build(roster, Fixture.Settings(), Fixture.Bundle).Outputs, world));
        const string P = "--target 'urn:pulumi:devvm::workstation::**$";
        Assert.Contains(
            "This also holds up the cut of the people under retired: (it runs at the end of a successful up). To cut them now: pulumi up --stack devvm " +
            P + "command:remote:Command::bob-account' " +
            P + "command:remote:Command::bob-code' " +
            P + "command:remote:Command::bob-services' " +
            P + "command:remote:Command::bob-secrets' " +
            P + "command:remote:Command::bob-cut' " +
            P + "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding::bob-k8s-*' " +
            P + "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding::bob-k8s-*-admin' " +
            P + "vault:index/policy:Policy::bob-vault-policy' " +
            P + "vault:identity/entityPolicies:EntityPolicies::bob-vault-policies' " +
            P + "vault:identity/entity:Entity::bob-vault-entity' " +
            P + "command:remote:Command::carol-account' ",
            e.ToString(), StringComparison.Ordinal);
        // The program's hint is the one list, for the golden stack's shape: every retired (not purged) person, then the shared ones once.
        var derived = Derivation.Derive(roster);
        Assert.Equal(Offboarding.TargetedUp("devvm", "workstation", derived.Retired, StackShape.Full), "pulumi up --stack devvm " +
            string.Join(' ', HintTargets(e).Select(t => $"--target '{t}'")));
        Assert.Equal(Offboarding.Shared("devvm", "workstation", StackShape.Full), HintTargets(e).TakeLast(2));
        Assert.DoesNotContain("::alice-", e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("::wiz-", e.ToString(), StringComparison.Ordinal);
    }

    public static TheoryData<string, bool, bool> Retires() => new()
    {
        { "bob", true, true }, // a namespace-owner, keeping his login: the alias stays
        { "bob", false, true }, // without it: the alias goes too
        { "alice", true, true }, // a power-user: the ClusterRoleBinding
        { "bob", true, false }, // a host-only stack: no cluster, Vault, Authentik or secrets
    };

    internal static DictConfig HostOnly() => Fixture.Config()
        .With(ConfigKeys.EnableKubernetes, "false").With(ConfigKeys.EnableVault, "false").With(ConfigKeys.EnableAuthentik, "false")
        .With(ConfigKeys.AuthentikUrl, null).With(ConfigKeys.AuthentikToken, null).With(ConfigKeys.AuthentikT3AppSlug, null)
        .With(ConfigKeys.Kubeconfig, null).With(ConfigKeys.VaultToken, null)
        .With(ConfigKeys.VaultSecrets, null).With(ConfigKeys.MemoryMcpUrl, null);

    /// <summary>
    /// Issue 26 §1: the offboarding targets of a person are exactly the resources their retire
    /// deletes or updates, as the engine matches them against what the stack holds before and after
    /// (its glob rules): every one covered, nothing else. A literal target must name a URN the
    /// stack holds (the engine refuses the whole up otherwise): the per-person ones are all globs.
    /// </summary>
    [Theory]
    [MemberData(nameof(Retires))]
    public async Task The_offboarding_targets_are_exactly_what_a_retire_deletes_or_updates(string who, bool keepLogin, bool full)
    {
        var settings = full ? Fixture.Settings() : Fixture.Settings(HostOnly());
        var shape = full ? StackShape.Full : new StackShape(false, false, false, false);
        var activeText = Fixture.RosterText;
        var retiredText = RosterEdit.Golden().Retire(who, keepLogin).Text();

        var changed = DiffTests.Changed(
            await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(activeText), settings, Fixture.Bundle).Outputs),
            await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(retiredText), settings, Fixture.Bundle).Outputs));
        var before = EngineUrns.Of((await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(activeText), settings, Fixture.Bundle).Outputs)).Constructed);
        var after = EngineUrns.Of((await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(retiredText), settings, Fixture.Bundle).Outputs)).Constructed);
        var urns = before.Concat(after).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal);

        var tombstone = Derivation.Derive(Fixture.Roster(retiredText)).Retired.Single(r => r.OsUser == who);
        var targets = Offboarding.Targets("devvm", "workstation", tombstone, shape).Concat(Offboarding.Shared("devvm", "workstation", shape)).ToList();
        var matched = urns.Where(kv => targets.Any(t => EngineUrns.Matches(t, kv.Value))).Select(kv => kv.Key).Order(StringComparer.Ordinal);

        Assert.Equal(changed, matched);
        Assert.Contains($"{Types.Command}::{who}-cut", changed);
        Assert.Equal(full, changed.Contains($"{Types.Command}::{who}-secrets"));
        // A literal must exist before the up: only the shared ones are literals, and they do.
        Assert.All(targets.Where(t => !t.Contains('*', StringComparison.Ordinal)), t => Assert.Contains(t, before.Values));
        Assert.All(Offboarding.Targets("devvm", "workstation", tombstone, shape), t => Assert.Contains("::**$", t, StringComparison.Ordinal));
        // A tombstone retired in an earlier up (carol): its targets match only what the stack still holds of her, her entity.
        var carol = Derivation.Derive(Fixture.Roster(retiredText)).Retired.Single(r => r.OsUser == "carol");
        Assert.Equal(full ? [$"{Types.VaultEntity}::carol-vault-entity"] : [],
            after.Where(kv => Offboarding.Targets("devvm", "workstation", carol, shape).Any(t => EngineUrns.Matches(t, kv.Value))).Select(kv => kv.Key));
        // A purged tombstone has nothing left to cut.
        Assert.Null(Offboarding.TargetedUp("devvm", "workstation", [tombstone with { Purge = true }], shape));
    }

    /// <summary>
    /// Issue 25 §1: the cut goes first. Each person but the admin has a `-cut` step: no create, its
    /// delete the golden `user suspend` line, depending on every other host step. The engine
    /// deletes in rounds, dependents first (ScheduleDeletes): computed here from the DependsOn the
    /// program registers, the cut is the first round of a retire's host deletes, alone.
    /// </summary>
    [Fact]
    public async Task The_cut_step_is_the_first_delete_of_a_retire_and_the_admin_has_none()
    {
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);
        var run = await RunAsync(Fixture.RosterText);
        foreach (var who in new[] { "alice", "bob" })
        {
            var steps = constructed.Where(c => c.Resource.GetResourceType() == Types.Command && c.Options.Parent?.GetResourceName() == who).ToList();
            var deps = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            foreach (var c in steps)
                deps[c.Resource.GetResourceName()] = (await Probe.DependsOnAsync(c)).Select(r => r.GetResourceName()).ToHashSet(StringComparer.Ordinal);
            // The engine's rounds: repeatedly take what depends on nothing still to delete; the last round is deleted first.
            var left = deps.Keys.ToHashSet(StringComparer.Ordinal);
            var rounds = new List<string[]>();
            while (left.Count > 0)
            {
                var round = left.Where(n => !deps[n].Overlaps(left)).Order(StringComparer.Ordinal).ToArray();
                Assert.NotEmpty(round);
                rounds.Insert(0, round);
                left.ExceptWith(round);
            }
            Assert.Equal([$"{who}-cut"], rounds[0]);
            Assert.Equal([[$"{who}-cut"], [$"{who}-secrets"], [$"{who}-code", $"{who}-services"], [$"{who}-account"]], rounds);
            // The step list gives the host tests the same order.
            Assert.Equal(rounds.Select(r => r.Select(n => n[(who.Length + 1)..])),
                HostStep.DeleteOrder(HostStep.For(isAdmin: false, stagesSecrets: true)).Select(r => r.Select(s => s.Name).Order(StringComparer.Ordinal)));
            var cut = run.Command($"{who}-cut");
            Assert.Equal(Fixture.GoldenCommands()[$"suspend:{who}"], cut.Str("delete"));
            Assert.Null(cut.Str("create"));
            Assert.Null(cut.Str("update"));
        }
        Assert.DoesNotContain(run.Registrations, r => r.Name == "wiz-cut");
        Assert.DoesNotContain(HostStep.Cut, HostStep.For(isAdmin: true, stagesSecrets: true));
    }

    /// <summary>A `pulumi destroy` (or anything that deletes the admin's steps) replays no delete for the admin.</summary>
    [Fact]
    public async Task Automation_never_cuts_the_admin_their_host_steps_have_no_delete()
    {
        var run = await RunAsync(Fixture.RosterText);
        foreach (var step in HostStep.For(isAdmin: true, stagesSecrets: true))
            Assert.False(run.Command(step.ResourceName("wiz")).Inputs.ContainsKey("delete"), $"wiz-{step.Name} has a delete");
        Assert.DoesNotContain(run.Registrations, r => r.Name == "wiz-cut");
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
        Assert.Equal(Fixture.GoldenCommands()["account:bob"], back.Command("bob-account").StepLine("create"));
        Assert.Equal(Fixture.GoldenCommands()["code:bob"], back.Command("bob-code").StepLine("create"));
        Assert.Equal(Fixture.GoldenCommands()["services:bob"], back.Command("bob-services").StepLine("create"));
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

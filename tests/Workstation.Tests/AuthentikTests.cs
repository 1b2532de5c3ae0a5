using Workstation.Roster.Access;

namespace Workstation.Tests;

/// <summary>The group T3 Users, its edge policy and binding: one component, exact inputs, unknown users named.</summary>
public class AuthentikTests
{
    private const string Prefix = WorkstationStack.AuthentikName;

    private static Task<Run> RunAsync(DictConfig? config = null, MockWorld? world = null, bool preview = false) =>
        Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(config), Fixture.Bundle).Outputs, world, preview);

    [Fact]
    public async Task The_group_holds_exactly_the_roster_and_the_admin_by_authentik_pk()
    {
        var run = await RunAsync();
        var pks = new[] { "wiz.admin", "alice.a", "bob.b" }.Select(MockWorld.Pk).Order();
        Assert.Equal(
            $$"""{"isSuperuser":false,"name":"T3 Users","users":[{{string.Join(',', pks)}}]}""",
            run.Named(Types.AuthentikGroup, $"{Prefix}-t3-users").Canonical);

        // One look-up per person, by username, through the Authentik provider; the retired user is not looked up.
        var lookups = run.Calls!.Where(c => c.Token == Types.GetUser).ToList();
        Assert.Equal(["alice.a", "bob.b", "wiz.admin"], lookups.Select(c => (string)c.Args["username"]).Order(StringComparer.Ordinal));
        Assert.All(lookups, c => Assert.Contains($"{Types.AuthentikProvider}::{Prefix}-provider::", c.Provider, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_policy_admits_only_the_group_and_is_bound_to_the_t3_application_read_by_slug()
    {
        var run = await RunAsync(Fixture.Config().With(ConfigKeys.AuthentikT3AppSlug, "t3-code"));
        Assert.Equal(
            """{"executionLogging":false,"expression":"return ak_is_group_member(request.user, name=\u0022T3 Users\u0022)","name":"workstation-t3-users-only"}""",
            run.Named(Types.AuthentikPolicy, $"{Prefix}-t3-users-only").Canonical);
        Assert.Equal(AuthentikAccess.PolicyExpression(), run.Named(Types.AuthentikPolicy, $"{Prefix}-t3-users-only").Str("expression"));

        var app = run.Named(Types.AuthentikApp, $"{Prefix}-t3-app");
        Assert.Equal("t3-code", app.ReadId);
        Assert.Equal(
            $$"""{"enabled":true,"failureResult":false,"negate":false,"order":0,"policy":"{{Prefix}}-t3-users-only-id","target":"{{MockWorld.AppUuid("t3-code")}}"}""",
            run.Named(Types.AuthentikBinding, $"{Prefix}-t3-users-only-binding").Canonical);
        // The application is only read: nothing creates or changes one.
        Assert.DoesNotContain(run.Registrations, r => r.Type == Types.AuthentikApp && !r.IsRead);
    }

    /// <summary>Each property that keeps the gate closed fails on its own assertion.</summary>
    [Fact]
    public async Task The_edge_policy_binding_is_enabled_not_negated_and_fails_closed()
    {
        var run = await RunAsync();
        var binding = run.Named(Types.AuthentikBinding, $"{Prefix}-t3-users-only-binding");
        Assert.True(Equals(false, binding.Inputs["failureResult"]), "failureResult must be false: when the policy errors, the edge must deny (fail closed)");
        Assert.True(Equals(false, binding.Inputs["negate"]), "negate must be false: a negated binding admits everyone outside the group");
        Assert.True(Equals(true, binding.Inputs["enabled"]), "enabled must be true: a disabled binding gates nothing");
    }

    [Fact]
    public async Task Every_authentik_resource_lives_in_the_one_component_and_uses_its_provider()
    {
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);
        var edge = constructed.Select(c => c.Resource).OfType<AuthentikEdge>().Single();
        var authentik = constructed.Where(c => c.Resource.GetType().Namespace == "Pulumi.Authentik").ToList();
        Assert.Equal(6, authentik.Count); // provider, application and its proxy provider read, group, policy, binding
        Assert.All(authentik, c => Assert.Same(edge, c.Options.Parent));
        Assert.All(authentik.Where(c => c.Resource is not ProviderResource), c => Assert.Same(edge.Provider, ((CustomResourceOptions)c.Options).Provider));

        var run = await RunAsync();
        Assert.All(run.Registrations.Where(r => r.Type.StartsWith("authentik:", StringComparison.Ordinal)),
            r => Assert.Contains($"{Types.AuthentikProvider}::{Prefix}-provider::", r.Provider, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_roster_name_Authentik_does_not_know_stops_the_run_naming_each_one()
    {
        var world = new MockWorld { UnknownAuthentikUsers = new HashSet<string> { "bob.b", "wiz.admin" } };
        var (mock, seen) = Harness.Mocks(world);
        var e = await Assert.ThrowsAnyAsync<Exception>(() => Deployment.TestAsync(mock.Object, Harness.Options,
            () => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs));
        var message = e.ToString();
        Assert.Contains("Authentik doesn't know 2 roster user(s), so the group 'T3 Users' can't be set: " +
            "'wiz.admin' (roster.yaml admin.authentik_user): No matching user found; " +
            "'bob.b' (roster.yaml users.bob.authentik_user): No matching user found.", message, StringComparison.Ordinal);
        Assert.DoesNotContain("alice.a", message, StringComparison.Ordinal);
        // The member list is never sent half-resolved.
        Assert.DoesNotContain(seen, r => r.Type == Types.AuthentikGroup);
    }

    [Fact]
    public async Task An_unknown_user_also_stops_a_preview()
    {
        var world = new MockWorld { UnknownAuthentikUsers = new HashSet<string> { "alice.a" } };
        var e = await Assert.ThrowsAnyAsync<Exception>(() => RunAsync(world: world, preview: true));
        Assert.Contains("'alice.a' (roster.yaml users.alice.authentik_user)", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_lookup_without_a_user_counts_as_unknown()
    {
        var e = Assert.Throws<RunException>(() => AuthentikEdge.MemberPks(
            [new("users.a.authentik_user", "a", 7), new("users.b.authentik_user", "b", null, "no such user")]));
        Assert.Contains("'b' (roster.yaml users.b.authentik_user): no such user", e.Message, StringComparison.Ordinal);
        Assert.Equal([3, 7, 9], AuthentikEdge.MemberPks([new("x", "x", 9), new("y", "y", 3), new("z", "z", 7)]).ToArray());
    }
}

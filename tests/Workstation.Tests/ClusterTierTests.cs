using System.Collections.Immutable;
using YamlDotNet.RepresentationModel;

namespace Workstation.Tests;

/// <summary>
/// §5 (issue 24), the seed's Task 2.1: the workstation tier matches the cluster. Preview reads the
/// ClusterRoleBindings other stacks made for a person (roster cluster_bindings) and the role each
/// binds, through the Kubernetes provider's reads, and stops naming the binding when it grants
/// more than the roster's tier.
/// </summary>
public class ClusterTierTests
{
    private const string Binding = "oidc-power-user-alice";

    /// <summary>The golden roster with alice's (power-user) binding from the seed's RBAC stack named.</summary>
    private static readonly string Roster = RosterEdit.Golden()
        .Set("alice", "cluster_bindings", new YamlSequenceNode(new YamlScalarNode(Binding)))
        .Text();

    private static readonly ImmutableDictionary<string, object> ClusterAdmin =
        MockWorld.Role("cluster-admin", (["*"], ["*"], ["*"]));

    private static readonly ImmutableDictionary<string, object> ReadPods =
        MockWorld.Role("oidc-power-user-readonly", ([""], ["pods", "pods/log"], ["get", "list", "watch"]), (["apps"], ["deployments"], ["get", "list"]));

    private static readonly ImmutableDictionary<string, object> ReadSecrets =
        MockWorld.Role("oidc-power-user", ([""], ["pods", "secrets"], ["get", "list", "watch"]), (["apps"], ["deployments"], ["get", "patch"]));

    private static MockWorld World(string role, ImmutableDictionary<string, object> rules, string subject = "alice@example.test") => new()
    {
        ClusterRoleBindings = ImmutableDictionary<string, ImmutableDictionary<string, object>>.Empty
            .Add(Binding, MockWorld.ClusterBinding(Binding, role, ("User", subject))),
        ClusterRoles = ImmutableDictionary<string, ImmutableDictionary<string, object>>.Empty.Add(role, rules),
    };

    private static Task<Run> PreviewAsync(MockWorld world) =>
        Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(Roster), Fixture.Settings(), Fixture.Bundle).Outputs, world, preview: true);

    [Fact]
    public async Task S5_a_power_user_holding_a_cluster_admin_binding_stops_the_preview_naming_the_binding()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => PreviewAsync(World("cluster-admin", ClusterAdmin)));
        Assert.Contains($"roster.yaml users.alice.cluster_bindings ({Binding}): alice: ClusterRoleBinding {Binding} binds ClusterRole 'cluster-admin', " +
            "which grants more than the roster's tier power-user", e.ToString(), StringComparison.Ordinal);
        Assert.Contains("* */*", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task S5_a_power_users_binding_to_a_role_with_secrets_or_writes_stops_the_preview_and_lists_what_is_beyond()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => PreviewAsync(World("oidc-power-user", ReadSecrets)));
        Assert.Contains("binds ClusterRole 'oidc-power-user', which grants more than the roster's tier power-user", e.ToString(), StringComparison.Ordinal);
        Assert.Contains(": get secrets, list secrets, patch apps/deployments and 1 more", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task S5_a_binding_within_the_tier_is_read_with_its_role_and_passes()
    {
        var run = await PreviewAsync(World("oidc-power-user-readonly", ReadPods));
        Assert.Equal(Binding, run.Named(Types.ClusterRoleBinding, $"alice-k8s-cluster-{Binding}-external").ReadId);
        Assert.Equal("oidc-power-user-readonly", run.Named(Types.ClusterRole, $"alice-k8s-cluster-{Binding}-external-role").ReadId);
        // Read, never created: the only ClusterRoleBinding registered as new is Workstation's own.
        Assert.Equal(["alice-k8s-power-user-readonly"], run.Registrations.Where(r => r.Type == Types.ClusterRoleBinding && !r.IsRead).Select(r => r.Name));
    }

    [Fact]
    public async Task S5_a_binding_that_does_not_bind_the_person_stops_the_preview()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => PreviewAsync(World("oidc-power-user-readonly", ReadPods, subject: "bob@example.test")));
        Assert.Contains($"alice: ClusterRoleBinding {Binding} does not bind User 'alice@example.test'", e.ToString(), StringComparison.Ordinal);
    }
}

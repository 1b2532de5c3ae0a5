using YamlDotNet.RepresentationModel;
using System.Collections.Immutable;
using Pulumi.Utilities;

namespace Workstation.Tests;

/// <summary>
/// A binding roster `external_bindings` names is read (RoleBinding.Get, which mocks see as a
/// registration with an id) and asserted; a missing or wrong one stops the run with a clear error.
/// </summary>
public class ExternalBindingTests
{
    private const string RbType = Types.RoleBinding;
    private const string Id = "team-b/oidc-ns-owner-bob";

    /// <summary>The golden roster, with bob's team-b bound by another stack and a second namespace of his own.</summary>
    private static readonly string Roster = RosterEdit.Golden()
        .Namespaces("bob", "team-b", "team-b2")
        .Set("bob", "external_bindings", new YamlMappingNode { { "team-b", "oidc-ns-owner-bob" } })
        .Text();

    private static MockWorld With(ImmutableDictionary<string, object>? binding) => new()
    {
        RoleBindings = binding is null
            ? ImmutableDictionary<string, ImmutableDictionary<string, object>>.Empty
            : ImmutableDictionary<string, ImmutableDictionary<string, object>>.Empty.Add(Id, binding),
    };

    private static readonly ImmutableDictionary<string, object> Good =
        MockWorld.Binding("team-b", "oidc-ns-owner-bob", "ClusterRole", "admin", ("Group", "team-b-devs"), ("User", "bob@example.test"));

    private static Task<Run> RunAsync(MockWorld world, bool preview = false) =>
        Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(Roster), Fixture.Settings(), Fixture.Bundle).Outputs, world, preview);

    [Fact]
    public async Task An_existing_binding_is_read_by_name_and_asserted_never_created()
    {
        var run = await RunAsync(With(Good));
        var read = run.Named(RbType, "bob-k8s-team-b-external");
        Assert.Equal(Id, read.ReadId);
        Assert.Contains($"{Types.K8sProvider}::{AccessLayer.K8sProviderName}::", read.Provider, StringComparison.Ordinal);
        // bob's own namespace still gets Workstation's binding; team-b gets none.
        Assert.Equal(["bob-k8s-team-b-external", "bob-k8s-team-b2-admin"],
            run.Registrations.Where(r => r.Type == RbType && r.Name.StartsWith("bob-", StringComparison.Ordinal)).Select(r => r.Name).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(run.Registrations, r => !r.IsRead && r.Canonical.Contains("\"namespace\":\"team-b\"", StringComparison.Ordinal));

        var bob = run.Resources.OfType<WorkstationUser>().Single(u => u.GetResourceName() == "bob");
        Assert.Equal([Id], (await OutputUtilities.GetValueAsync(bob.ExternalBindings)).ToArray());
        var read2 = Assert.Single(bob.ExternalBindingReads);
        Assert.Equal("bob-k8s-team-b-external", read2.GetResourceName());
    }

    [Fact]
    public async Task The_read_is_a_child_of_the_user()
    {
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(Roster), Fixture.Settings(), Fixture.Bundle).Outputs, With(Good));
        var read = constructed.Single(c => c.Resource.GetResourceName() == "bob-k8s-team-b-external");
        Assert.Equal("bob", Assert.IsType<WorkstationUser>(read.Options.Parent).GetResourceName());
    }

    public static TheoryData<string, ImmutableDictionary<string, object>?, string> Failures => new()
    {
        {
            "read back empty", ImmutableDictionary<string, object>.Empty,
            "external binding check failed for roster.yaml users.bob.external_bindings.team-b: bob/team-b: no RoleBinding 'oidc-ns-owner-bob' found; " +
            "external_bindings says another stack binds User 'bob@example.test' to ClusterRole 'admin' here."
        },
        {
            "wrong role", MockWorld.Binding("team-b", "oidc-ns-owner-bob", "ClusterRole", "view", ("User", "bob@example.test")),
            "external binding check failed for roster.yaml users.bob.external_bindings.team-b: bob/team-b: RoleBinding oidc-ns-owner-bob binds ClusterRole 'view', expected 'admin'."
        },
        {
            "a Role, not the ClusterRole", MockWorld.Binding("team-b", "oidc-ns-owner-bob", "Role", "admin", ("User", "bob@example.test")),
            "RoleBinding oidc-ns-owner-bob binds Role 'admin', expected ClusterRole 'admin'."
        },
        {
            "someone else", MockWorld.Binding("team-b", "oidc-ns-owner-bob", "ClusterRole", "admin", ("User", "mallory@example.test")),
            "RoleBinding oidc-ns-owner-bob does not bind User 'bob@example.test' (it binds User 'mallory@example.test')."
        },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task A_missing_or_wrong_binding_stops_the_run_with_what_to_fix(string why, ImmutableDictionary<string, object>? binding, string expected)
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => RunAsync(With(binding)));
        Assert.True(e.ToString().Contains(expected, StringComparison.Ordinal), $"{why}: {e}");
        Assert.Contains("Workstation does not create or change it", e.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_binding_that_does_not_exist_fails_its_read_naming_it(bool preview)
    {
        // The engine refuses a read of a missing object before the check can run; its error names the id.
        var e = await Assert.ThrowsAnyAsync<Exception>(() => RunAsync(With(null), preview));
        Assert.Contains($"resource '{Id}' does not exist", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_check_runs_in_preview_too()
    {
        var wrong = MockWorld.Binding("team-b", "oidc-ns-owner-bob", "ClusterRole", "edit", ("User", "bob@example.test"));
        var e = await Assert.ThrowsAnyAsync<Exception>(() => RunAsync(With(wrong), preview: true));
        Assert.Contains("RoleBinding oidc-ns-owner-bob binds ClusterRole 'edit', expected 'admin'", e.ToString(), StringComparison.Ordinal);
        await RunAsync(With(Good), preview: true);
    }
}

using YamlDotNet.RepresentationModel;
using System.Collections;
using System.Collections.Immutable;
using Workstation.Roster.Access;

namespace Workstation.Tests;

/// <summary>The Kubernetes objects per tier: exact inputs, explicit provider, names and labels, and the power-user role's rules.</summary>
public class ClusterTests
{
    internal const string K8sPrefix = "kubernetes:";

    private static Task<Run> GoldenRun() =>
        Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);

    private static string Json(object? value) => Canonicalizer.Write(value);

    [Fact]
    public async Task A_power_user_gets_one_ClusterRoleBinding_to_the_workstation_readonly_role()
    {
        var run = await GoldenRun();
        var crb = run.Named(Types.ClusterRoleBinding, "alice-k8s-power-user-readonly");
        Assert.Equal(
            """{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"labels":{"app.kubernetes.io/managed-by":"workstation","workstation/user":"alice"},"name":"workstation-alice-power-user-readonly"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"workstation-power-user-readonly"},"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"alice@example.test"}]}""",
            crb.Canonical);
        Assert.DoesNotContain(run.Registrations, r => r.Type == Types.RoleBinding && r.Name.StartsWith("alice-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_namespace_owner_gets_admin_in_each_own_namespace_and_nothing_cluster_wide()
    {
        var roster = RosterEdit.Golden().Namespaces("bob", "team-b", "team-b2").Text();
        var run = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(roster), Fixture.Settings(), Fixture.Bundle).Outputs);
        foreach (var ns in new[] { "team-b", "team-b2" })
        {
            Assert.Equal(
                $$"""{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"labels":{"app.kubernetes.io/managed-by":"workstation","workstation/user":"bob"},"name":"workstation-bob-admin","namespace":"{{ns}}"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"admin"},"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"bob@example.test"}]}""",
                run.Named(Types.RoleBinding, $"bob-k8s-{ns}-admin").Canonical);
        }
        var bobs = run.Registrations.Where(r => r.Type.StartsWith(K8sPrefix, StringComparison.Ordinal) && r.Name.StartsWith("bob-", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, bobs.Count);
        Assert.All(bobs, r => Assert.Equal(Types.RoleBinding, r.Type));
    }

    [Fact]
    public async Task The_admin_gets_no_binding()
    {
        var run = await GoldenRun();
        Assert.DoesNotContain(run.Registrations, r => r.Type.StartsWith(K8sPrefix, StringComparison.Ordinal) && r.Name.StartsWith("wiz", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_prefix_and_claim_of_the_roster_name_the_subject()
    {
        var roster = RosterEdit.Golden()
            .Setting("k8s_username_prefix", new YamlScalarNode("oidc:")).Setting("k8s_username_claim", new YamlScalarNode("name")).Text();
        var run = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(roster), Fixture.Settings(), Fixture.Bundle).Outputs);
        Assert.Contains("\"subjects\":[{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"User\",\"name\":\"oidc:alice\"}]",
            run.Named(Types.ClusterRoleBinding, "alice-k8s-power-user-readonly").Canonical, StringComparison.Ordinal);
        Assert.Contains("\"name\":\"oidc:bob\"", run.Named(Types.RoleBinding, "bob-k8s-team-b-admin").Canonical, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_cluster_object_has_an_explicit_name_the_managed_by_label_and_the_explicit_provider()
    {
        var run = await GoldenRun();
        var objects = run.Registrations.Where(r => r.Type.StartsWith(K8sPrefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(3, objects.Count);
        foreach (var r in objects)
        {
            var meta = (IDictionary<string, object>)r.Inputs["metadata"];
            Assert.False(string.IsNullOrEmpty(meta["name"] as string), $"{r.Key}: no metadata.name");
            var labels = (IDictionary<string, object>)meta["labels"];
            Assert.Equal("workstation", labels[AccessLabels.ManagedByKey]);
            if (r.Type != Types.ClusterRole)
                Assert.Equal(r.Name[..r.Name.IndexOf('-', StringComparison.Ordinal)], labels[AccessLabels.UserKey]);
            Assert.StartsWith($"urn:pulumi:devvm::workstation::pulumi:pulumi:Stack$pulumi:providers:kubernetes::{AccessLayer.K8sProviderName}::", r.Provider, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_rendered_ClusterRole_is_K8sAccess_s_role_rule_for_rule()
    {
        var run = await GoldenRun();
        var role = run.Named(Types.ClusterRole, K8sAccess.PowerUserRoleName);
        var rendered = ((IEnumerable)role.Inputs["rules"]).Cast<IDictionary<string, object>>()
            .Select(r => new RbacRule(Strings(r["apiGroups"]), Strings(r["resources"]), Strings(r["verbs"])))
            .ToList();
        var expected = K8sAccess.PowerUserReadOnlyRole.Rules;
        Assert.Equal(expected.Count, rendered.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].ApiGroups, rendered[i].ApiGroups);
            Assert.Equal(expected[i].Resources, rendered[i].Resources);
            Assert.Equal(expected[i].Verbs, rendered[i].Verbs);
        }
        Assert.Equal(["app.kubernetes.io/managed-by"], ((IDictionary<string, object>)((IDictionary<string, object>)role.Inputs["metadata"])["labels"]).Keys);
    }

    [Fact]
    public async Task The_rendered_ClusterRole_reads_cluster_wide_and_grants_nothing_else()
    {
        var run = await GoldenRun();
        var rules = ((IEnumerable)run.Named(Types.ClusterRole, K8sAccess.PowerUserRoleName).Inputs["rules"]).Cast<IDictionary<string, object>>().ToList();
        var resources = rules.SelectMany(r => Strings(r["resources"])).ToList();
        Assert.All(rules, r => Assert.Equal(["get", "list", "watch"], Strings(r["verbs"])));
        Assert.All(rules, r => Assert.False(r.ContainsKey("resourceNames") || r.ContainsKey("nonResourceURLs")));
        Assert.DoesNotContain(rules.SelectMany(r => Strings(r["apiGroups"])), g => g == "*");
        Assert.DoesNotContain(resources, x => x.Contains('*', StringComparison.Ordinal));
        foreach (var forbidden in new[] { "secrets", "pods/exec", "pods/attach", "pods/portforward", "serviceaccounts/token" })
            Assert.DoesNotContain(forbidden, resources);
        Assert.DoesNotContain(resources, x => x.EndsWith("/proxy", StringComparison.Ordinal));
        // Cluster-scoped kinds are in: a power-user sees nodes, namespaces and volumes, not just their own namespace.
        foreach (var clusterScoped in new[] { "nodes", "namespaces", "persistentvolumes", "clusterroles", "storageclasses" })
            Assert.Contains(clusterScoped, resources);
    }

    [Fact]
    public async Task Bindings_replace_by_deleting_first_and_the_power_user_binding_waits_for_its_role()
    {
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);
        var role = constructed.Single(c => c.Resource.GetResourceName() == K8sAccess.PowerUserRoleName);
        foreach (var name in new[] { "alice-k8s-power-user-readonly", "bob-k8s-team-b-admin" })
        {
            var c = constructed.Single(x => x.Resource.GetResourceName() == name);
            Assert.True(((Pulumi.CustomResourceOptions)c.Options).DeleteBeforeReplace, $"{name}: roleRef is immutable, so a replace must delete first");
        }
        var crb = constructed.Single(c => c.Resource.GetResourceName() == "alice-k8s-power-user-readonly");
        Assert.Contains(role.Resource, await Probe.DependsOnAsync(crb));
    }

    /// <summary>The shared role has a fixed name too: a replace (say, a change Kubernetes refuses in place) must delete it first.</summary>
    [Fact]
    public async Task The_shared_power_user_cluster_role_replaces_by_deleting_first()
    {
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);
        var role = constructed.Single(c => c.Resource.GetResourceName() == K8sAccess.PowerUserRoleName);
        Assert.True(((Pulumi.CustomResourceOptions)role.Options).DeleteBeforeReplace,
            $"{K8sAccess.PowerUserRoleName}: a fixed-name object must be deleted before it is replaced");
    }

    private static string[] Strings(object value) => ((IEnumerable)value).Cast<object>().Select(o => (string)o).ToArray();
}

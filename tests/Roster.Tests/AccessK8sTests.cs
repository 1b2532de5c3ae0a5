using Workstation.Roster.Access;

namespace Workstation.Roster.Tests;

/// <summary>What each tier may do in the cluster, decided by <see cref="RbacEvaluator"/> over the generated objects.</summary>
public class AccessK8sTests
{
    private static readonly DerivedRoster Fixture = AccessFixtures.Roster();
    private static readonly K8sOptions Options = AccessFixtures.K8s(Fixture);

    // Every user's bindings at once, so a grant leaking from one user to another would show.
    private static readonly RbacEvaluator Cluster = new(
        [EvalRole.From(K8sAccess.PowerUserReadOnlyRole), EvalRole.BuiltInAdmin],
        K8sAccess.For(Fixture, Options).SelectMany(a => a.Bindings));

    private static string Subject(string osUser) => K8sAccess.Subject(AccessFixtures.User(osUser, Fixture), Options).Name;

    private static readonly string[] AnyNamespace = ["default", "kube-system", "team-b", "plotting-book"];

    // --- power-user -------------------------------------------------------------------------

    [Theory]
    [InlineData("get", "", "pods", null, "ns")]
    [InlineData("list", "", "pods", null, "ns")]
    [InlineData("list", "", "pods", null, null)]
    [InlineData("get", "", "pods", "log", "ns")]
    [InlineData("list", "", "nodes", null, null)]
    [InlineData("get", "", "nodes", null, null)]
    [InlineData("list", "", "namespaces", null, null)]
    [InlineData("get", "", "persistentvolumes", null, null)]
    [InlineData("list", "storage.k8s.io", "storageclasses", null, null)]
    [InlineData("watch", "apps", "deployments", null, "ns")]
    [InlineData("watch", "apps", "deployments", null, null)]
    [InlineData("list", "", "configmaps", null, "ns")]
    [InlineData("get", "", "events", null, "ns")]
    [InlineData("list", "rbac.authorization.k8s.io", "clusterroles", null, null)]
    [InlineData("list", "apiextensions.k8s.io", "customresourcedefinitions", null, null)]
    public void PowerUserMayRead(string verb, string group, string resource, string? sub, string? ns)
    {
        foreach (var n in ns is null ? new string?[] { null } : AnyNamespace)
            Assert.True(Cluster.Allows(new(Subject("alice"), verb, group, resource, sub, n)), $"{verb} {group}/{resource}/{sub} in {n}");
    }

    [Theory]
    [InlineData("get", "", "secrets", null, "ns")]
    [InlineData("list", "", "secrets", null, "ns")]
    [InlineData("watch", "", "secrets", null, "ns")]
    [InlineData("list", "", "secrets", null, null)]
    [InlineData("create", "", "pods", null, "ns")]
    [InlineData("delete", "", "pods", null, "ns")]
    [InlineData("update", "", "configmaps", null, "ns")]
    [InlineData("patch", "apps", "deployments", null, "ns")]
    [InlineData("patch", "apps", "deployments", "scale", "ns")]
    [InlineData("deletecollection", "", "pods", null, "ns")]
    [InlineData("create", "", "namespaces", null, null)]
    [InlineData("delete", "", "nodes", null, null)]
    [InlineData("patch", "", "nodes", null, null)]
    [InlineData("delete", "", "persistentvolumes", null, null)]
    [InlineData("update", "rbac.authorization.k8s.io", "clusterroles", null, null)]
    [InlineData("escalate", "rbac.authorization.k8s.io", "clusterroles", null, null)]
    [InlineData("bind", "rbac.authorization.k8s.io", "clusterroles", null, null)]
    [InlineData("impersonate", "", "users", null, null)]
    [InlineData("create", "", "serviceaccounts", "token", "ns")]
    [InlineData("create", "", "pods", "exec", "ns")]
    [InlineData("get", "", "pods", "exec", "ns")]
    [InlineData("create", "", "pods", "attach", "ns")]
    [InlineData("get", "", "pods", "attach", "ns")]
    [InlineData("create", "", "pods", "portforward", "ns")]
    [InlineData("get", "", "pods", "portforward", "ns")]
    [InlineData("get", "", "pods", "proxy", "ns")]
    [InlineData("get", "", "nodes", "proxy", null)]
    [InlineData("get", "", "services", "proxy", "ns")]
    [InlineData("create", "", "services", "proxy", "ns")]
    [InlineData("update", "", "pods", "ephemeralcontainers", "ns")]
    public void PowerUserMayNot(string verb, string group, string resource, string? sub, string? ns)
    {
        foreach (var n in ns is null ? new string?[] { null } : AnyNamespace)
            Assert.False(Cluster.Allows(new(Subject("alice"), verb, group, resource, sub, n)), $"{verb} {group}/{resource}/{sub} in {n}");
    }

    // --- namespace-owner --------------------------------------------------------------------

    public static TheoryData<string, string, string, string?> Anything => new()
    {
        { "get", "", "pods", null },
        { "list", "", "secrets", null },
        { "get", "", "secrets", null },
        { "create", "", "secrets", null },
        { "create", "apps", "deployments", null },
        { "patch", "apps", "deployments", "scale" },
        { "delete", "", "pods", null },
        { "deletecollection", "", "configmaps", null },
        { "create", "", "pods", "exec" },
        { "create", "", "pods", "portforward" },
        { "create", "rbac.authorization.k8s.io", "rolebindings", null },
        { "watch", "batch", "jobs", null },
    };

    [Theory]
    [MemberData(nameof(Anything))]
    public void NamespaceOwnerMayDoAnythingInOwnNamespaces(string verb, string group, string resource, string? sub)
    {
        foreach (var ns in new[] { "team-b", "team-b2" })
            Assert.True(Cluster.Allows(new(Subject("bob"), verb, group, resource, sub, ns)), ns);
    }

    [Theory]
    [MemberData(nameof(Anything))]
    public void NamespaceOwnerMayDoNothingInOtherNamespaces(string verb, string group, string resource, string? sub)
    {
        foreach (var ns in new[] { "default", "kube-system", "team-b3", "plotting-book" })
            Assert.False(Cluster.Allows(new(Subject("bob"), verb, group, resource, sub, ns)), ns);
    }

    [Theory]
    [InlineData("list", "", "nodes", null)]
    [InlineData("list", "", "namespaces", null)]
    [InlineData("get", "", "namespaces", null)]
    [InlineData("create", "", "namespaces", null)]
    [InlineData("get", "", "persistentvolumes", null)]
    [InlineData("list", "", "pods", null)]
    [InlineData("list", "", "secrets", null)]
    [InlineData("list", "storage.k8s.io", "storageclasses", null)]
    [InlineData("get", "", "nodes", "proxy")]
    [InlineData("create", "rbac.authorization.k8s.io", "clusterrolebindings", null)]
    public void NamespaceOwnerMayDoNothingClusterScoped(string verb, string group, string resource, string? sub) =>
        Assert.False(Cluster.Allows(new(Subject("bob"), verb, group, resource, sub, null)));

    [Fact]
    public void ExternallyBoundNamespaceGetsNoBindingButAnAssertion()
    {
        var dora = K8sAccess.For(AccessFixtures.User("dora", Fixture), Options);
        Assert.Empty(dora.Bindings);
        var e = Assert.Single(dora.ExternalBindings);
        Assert.Equal(new ExternalBindingExpectation("dora", "plotting-book", "oidc-ns-owner-dora", "ClusterRole", "admin", new K8sSubject("User", "dora@example.test")), e);
        Assert.False(Cluster.Allows(new(Subject("dora"), "get", "", "pods", null, "plotting-book")));
    }

    // --- admin ------------------------------------------------------------------------------

    [Fact]
    public void AdminGetsNoBindings()
    {
        var wiz = K8sAccess.For(AccessFixtures.User("wiz", Fixture), Options);
        Assert.Empty(wiz.Bindings);
        Assert.Empty(wiz.ExternalBindings);
        Assert.False(Cluster.Allows(new(Subject("wiz"), "get", "", "pods", null, "default")));
    }

    // --- the ClusterRole itself -------------------------------------------------------------

    [Fact]
    public void PowerUserRoleEnumeratesEverythingAndGrantsOnlyReads()
    {
        var role = K8sAccess.PowerUserReadOnlyRole;
        Assert.Equal("workstation-power-user-readonly", role.Name);
        Assert.DoesNotContain(role.Name, new[] { "view", "edit", "admin", "cluster-admin", "oidc-power-user", "oidc-power-user-readonly" });
        Assert.Equal(new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "workstation" }, role.Labels);
        foreach (var rule in role.Rules)
        {
            Assert.All(rule.ApiGroups.Concat(rule.Resources).Concat(rule.Verbs), s => Assert.DoesNotContain("*", s, StringComparison.Ordinal));
            Assert.Equal(["get", "list", "watch"], rule.Verbs);
            Assert.Single(rule.ApiGroups);
            Assert.Equal(rule.Resources.Order(StringComparer.Ordinal), rule.Resources);
            Assert.Equal(rule.Resources.Count, rule.Resources.Distinct().Count());
            foreach (var res in rule.Resources)
            {
                Assert.NotEqual("secrets", res.Split('/')[0]);
                Assert.DoesNotContain(res.Split('/').ElementAtOrDefault(1), new[] { "exec", "attach", "portforward", "proxy", "token", "ephemeralcontainers", "eviction", "binding" });
            }
        }
        var groups = role.Rules.Select(r => r.ApiGroups[0]).ToList();
        Assert.Equal(groups.Order(StringComparer.Ordinal), groups);
        Assert.Equal(groups.Count, groups.Distinct().Count());
        // Cluster-scoped kinds are listed by name, not reached through a wildcard.
        var core = role.Rules.Single(r => r.ApiGroups[0] == "").Resources;
        Assert.Superset(new HashSet<string>(["nodes", "namespaces", "persistentvolumes", "pods", "pods/log"]), new HashSet<string>(core));
        Assert.Contains("storageclasses", role.Rules.Single(r => r.ApiGroups[0] == "storage.k8s.io").Resources);
        Assert.Equal([role], K8sAccess.ClusterRoles);
    }

    // --- names, labels, subjects ------------------------------------------------------------

    [Fact]
    public void PowerUserGetsOneNamedLabelledClusterRoleBinding()
    {
        var b = Assert.Single(K8sAccess.For(AccessFixtures.User("alice", Fixture), Options).Bindings);
        Assert.Equal(
            "ClusterRoleBinding -/workstation-alice-power-user-readonly -> ClusterRole/workstation-power-user-readonly " +
            "[User:alice@example.test] {app.kubernetes.io/managed-by=workstation,workstation/user=alice}",
            AccessFixtures.Canon(b));
    }

    [Fact]
    public void NamespaceOwnerGetsOneAdminRoleBindingPerNamespaceSorted()
    {
        var a = K8sAccess.For(AccessFixtures.User("bob", Fixture), Options);
        Assert.Equal(
        [
            "RoleBinding team-b/workstation-bob-admin -> ClusterRole/admin [User:bob@example.test] {app.kubernetes.io/managed-by=workstation,workstation/user=bob}",
            "RoleBinding team-b2/workstation-bob-admin -> ClusterRole/admin [User:bob@example.test] {app.kubernetes.io/managed-by=workstation,workstation/user=bob}",
        ], a.Bindings.Select(AccessFixtures.Canon));
        Assert.Empty(a.ExternalBindings);
    }

    [Theory]
    [InlineData("", "email", "alice@example.test")]
    [InlineData("oidc:", "email", "oidc:alice@example.test")]
    [InlineData("oidc:", "name", "oidc:alice")]
    [InlineData("", "name", "alice")]
    public void SubjectFollowsTheApiserverPrefixAndClaim(string prefix, string claim, string expected)
    {
        var yaml = AccessFixtures.RosterYaml.Replace(
            "  playwright_base_port: 8931\n",
            $"  playwright_base_port: 8931\n  k8s_username_prefix: \"{prefix}\"\n  k8s_username_claim: {claim}\n",
            StringComparison.Ordinal);
        var roster = AccessFixtures.Roster(yaml);
        var o = K8sOptions.From(roster.Settings);
        var alice = AccessFixtures.User("alice", roster);
        Assert.Equal(new K8sSubject("User", expected), K8sAccess.Subject(alice, o));
        Assert.Equal(new K8sSubject("User", expected), Assert.Single(K8sAccess.For(alice, o).Bindings).Subjects.Single());
        // Same answer as the roster engine's own derivation, for everyone.
        Assert.All(roster.Users, u => Assert.Equal(u.K8sSubject, K8sAccess.Subject(u, o)));
    }

    [Fact]
    public void NamesAreStableAcrossRunsAndRosterOrder()
    {
        var reordered = AccessFixtures.Roster(AccessFixtures.RosterYaml.Replace("[team-b2, team-b]", "[team-b, team-b2]", StringComparison.Ordinal));
        var first = AccessFixtures.ClusterState(Fixture.Users, Options);
        var again = AccessFixtures.ClusterState(AccessFixtures.Roster().Users, Options);
        var other = AccessFixtures.ClusterState(reordered.Users.Reverse(), K8sOptions.From(reordered.Settings));
        foreach (var (user, lines) in first)
        {
            Assert.Equal(lines, again[user]);
            Assert.Equal(lines, other[user]);
        }
    }

    [Fact]
    public void TierChangeChangesOnlyThatUsersBindings()
    {
        var before = AccessFixtures.ClusterState(Fixture.Users, Options);
        var changed = Fixture.Users.Select(u => u.OsUser == "alice"
            ? u with { Tier = Tier.NamespaceOwner, Namespaces = ["team-a"] }
            : u).ToList();
        var after = AccessFixtures.ClusterState(changed, Options);

        foreach (var user in before.Keys.Where(u => u != "alice")) Assert.Equal(before[user], after[user]);
        Assert.Equal(["ClusterRoleBinding -/workstation-alice-power-user-readonly -> ClusterRole/workstation-power-user-readonly [User:alice@example.test] {app.kubernetes.io/managed-by=workstation,workstation/user=alice}"], before["alice"]);
        Assert.Equal(["RoleBinding team-a/workstation-alice-admin -> ClusterRole/admin [User:alice@example.test] {app.kubernetes.io/managed-by=workstation,workstation/user=alice}"], after["alice"]);

        // And back to admin: the user's bindings go, nobody else's move.
        var demoted = AccessFixtures.ClusterState(Fixture.Users.Select(u => u.OsUser == "bob" ? u with { Tier = Tier.Admin, IsAdmin = true } : u), Options);
        Assert.Empty(demoted["bob"]);
        foreach (var user in before.Keys.Where(u => u != "bob")) Assert.Equal(before[user], demoted[user]);
    }

    [Fact]
    public void EveryBindingIsLabelledWithItsOwner()
    {
        foreach (var a in K8sAccess.For(Fixture, Options))
        {
            foreach (var b in a.Bindings)
            {
                Assert.Equal(new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "workstation", ["workstation/user"] = a.OsUser }, b.Labels);
                Assert.StartsWith($"workstation-{a.OsUser}-", b.Name, StringComparison.Ordinal);
                Assert.Equal("ClusterRole", b.RoleRefKind);
            }
        }
        Assert.Equal(["alice", "bob", "dora", "wiz"], K8sAccess.For(Fixture, Options).Select(a => a.OsUser));
    }

    // --- the evaluator itself (a wrong oracle would make the tables above meaningless) -------

    [Fact]
    public void EvaluatorFollowsKubernetesScoping()
    {
        var reader = new EvalRole("r", [new RbacRule([""], ["pods", "*/exec"], ["get"])]);
        RbacEvaluator Eval(params BindingSpec[] bs) => new([reader], bs);
        var labels = AccessLabels.ForUser("u");
        var crb = new BindingSpec("ClusterRoleBinding", "x", null, "ClusterRole", "r", [new("User", "u")], labels);
        var rb = new BindingSpec("RoleBinding", "x", "a", "ClusterRole", "r", [new("User", "u")], labels);

        Assert.True(Eval(crb).Allows(new("u", "get", "", "pods", null, "a")));
        Assert.True(Eval(crb).Allows(new("u", "get", "", "pods", null, null)));
        Assert.True(Eval(crb).Allows(new("u", "get", "", "pods", "exec", "a")));
        Assert.False(Eval(crb).Allows(new("u", "get", "", "pods", "log", "a")));
        Assert.False(Eval(crb).Allows(new("u", "list", "", "pods", null, "a")));
        Assert.False(Eval(crb).Allows(new("u", "get", "apps", "pods", null, "a")));
        Assert.False(Eval(crb).Allows(new("U", "get", "", "pods", null, "a")));
        Assert.True(Eval(rb).Allows(new("u", "get", "", "pods", null, "a")));
        Assert.False(Eval(rb).Allows(new("u", "get", "", "pods", null, "b")));
        Assert.False(Eval(rb).Allows(new("u", "get", "", "pods", null, null)));
        Assert.False(Eval(rb with { RoleRefName = "missing" }).Allows(new("u", "get", "", "pods", null, "a")));
        Assert.False(Eval(crb with { Subjects = [new("Group", "u")] }).Allows(new("u", "get", "", "pods", null, "a")));
        Assert.False(Eval().Allows(new("u", "get", "", "pods", null, "a")));

        var admin = new RbacEvaluator([EvalRole.BuiltInAdmin], [crb with { RoleRefName = "admin" }]);
        Assert.True(admin.Allows(new("u", "delete", "apps", "deployments", null, "any")));
        Assert.False(admin.Allows(new("u", "list", "", "nodes", null, null)));
    }

    /// <summary>§5 (issue 24): what a ClusterRole another stack bound grants beyond the tier.</summary>
    [Fact]
    public void S5_a_cluster_roles_rules_are_held_to_the_tiers_ceiling()
    {
        ObservedRule R(string g, string r, params string[] verbs) => new([g], [r], verbs, []);
        Assert.Empty(ClusterBindingCheck.Beyond(Tier.PowerUser, [R("", "pods", "get", "list", "watch"), R("apps", "deployments", "watch")]));
        Assert.Equal(["get secrets", "list secrets"], ClusterBindingCheck.Beyond(Tier.PowerUser, [R("", "secrets", "get", "list")]));
        Assert.Equal(["* */*", "* /*"], ClusterBindingCheck.Beyond(Tier.PowerUser, [new(["*"], ["*"], ["*"], []), new([], [], ["*"], ["/*"])]));
        Assert.Equal(["get pods"], ClusterBindingCheck.Beyond(Tier.NamespaceOwner, [R("", "pods", "get")]));
        Assert.Empty(ClusterBindingCheck.Beyond(Tier.PowerUser, [new([], [], ["get"], ["/healthz"])]));
        Assert.Empty(ClusterBindingCheck.Beyond(Tier.Admin, [new(["*"], ["*"], ["*"], [])]));
    }
}

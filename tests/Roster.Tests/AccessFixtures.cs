using Workstation.Roster.Access;

namespace Workstation.Roster.Tests;

/// <summary>A fixed roster for the access tests: one person per case, so the tables don't move when roster.yaml does.</summary>
internal static class AccessFixtures
{
    /// <summary>
    /// The people the access and import fixtures share: the admin wiz, the power-user alice, and the
    /// namespace-owner bob up to his namespaces, which each fixture goes on with (then his ports).
    /// </summary>
    public const string People = """
        admin:
          os_user: wiz
          authentik_user: wiz.admin
          k8s_user: wiz
          ports: { t3: 3773, playwright: 8931 }
        users:
          alice:
            authentik_user: alice.a
            k8s_user: alice
            email: alice@example.test
            tier: power-user
            ports: { t3: 3774, playwright: 8932 }
          bob:
            authentik_user: bob.b
            k8s_user: bob
            email: bob@example.test
            tier: namespace-owner

        """;

    public const string RosterYaml = """
        settings:
          t3_base_port: 3773
          playwright_base_port: 8931

        """ + People + """
                namespaces: [team-b2, team-b]
                ports: { t3: 3775, playwright: 8933 }
              dora:
                authentik_user: dora.d
                k8s_user: dora
                email: dora@example.test
                tier: namespace-owner
                namespaces: [plotting-book]
                external_bindings: { plotting-book: oidc-ns-owner-dora }
                ports: { t3: 3776, playwright: 8934 }
            retired: {}
            """;

    public static DerivedRoster Roster(string yaml = RosterYaml) => Derivation.Derive(RosterLoader.Load(yaml).ModelOrThrow());

    public static DerivedUser User(string osUser, DerivedRoster? roster = null) =>
        (roster ?? Roster()).Users.Single(u => u.OsUser == osUser);

    public static K8sOptions K8s(DerivedRoster? roster = null) => K8sOptions.From((roster ?? Roster()).Settings);

    /// <summary>The checkout's root (where roster.yaml is), found from the test binary's folder.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "roster.yaml")) && Directory.Exists(Path.Combine(dir.FullName, "Roster")))
                return dir.FullName;
        }
        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }

    /// <summary>A binding as one comparable line: records holding lists compare by reference.</summary>
    public static string Canon(BindingSpec b) =>
        $"{b.Kind} {b.Namespace ?? "-"}/{b.Name} -> {b.RoleRefKind}/{b.RoleRefName} " +
        $"[{string.Join(",", b.Subjects.Select(s => $"{s.Kind}:{s.Name}"))}] " +
        $"{{{string.Join(",", b.Labels.Select(kv => $"{kv.Key}={kv.Value}"))}}}";

    public static string Canon(ExternalBindingExpectation e) =>
        $"external {e.Namespace}/{e.BindingName} {e.OsUser} -> {e.RoleRefKind}/{e.RoleRefName} {e.Subject.Kind}:{e.Subject.Name}";

    /// <summary>Every cluster object line of every user, keyed by os_user.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> ClusterState(IEnumerable<DerivedUser> users, K8sOptions o) =>
        users.ToDictionary(
            u => u.OsUser,
            u =>
            {
                var a = K8sAccess.For(u, o);
                return (IReadOnlyList<string>)a.Bindings.Select(Canon).Concat(a.ExternalBindings.Select(Canon)).ToList();
            });
}

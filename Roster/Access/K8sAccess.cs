namespace Workstation.Roster.Access;

/// <summary>One RBAC policy rule, as in a Role or ClusterRole (no resourceNames, no nonResourceURLs).</summary>
public sealed record RbacRule(IReadOnlyList<string> ApiGroups, IReadOnlyList<string> Resources, IReadOnlyList<string> Verbs);

/// <summary>A ClusterRole to create.</summary>
public sealed record ClusterRoleSpec(string Name, IReadOnlyList<RbacRule> Rules, IReadOnlyDictionary<string, string> Labels);

/// <summary>
/// A ClusterRoleBinding (Namespace null) or RoleBinding to create. Subjects are
/// <see cref="K8sSubject"/>s of kind User, whose apiGroup is rbac.authorization.k8s.io.
/// </summary>
public sealed record BindingSpec(
    string Kind,
    string Name,
    string? Namespace,
    string RoleRefKind,
    string RoleRefName,
    IReadOnlyList<K8sSubject> Subjects,
    IReadOnlyDictionary<string, string> Labels);

/// <summary>
/// A binding that exists outside Workstation (roster `external_bindings`): read RoleBinding
/// <paramref name="BindingName"/> in <paramref name="Namespace"/> and assert it, never create it.
/// </summary>
public sealed record ExternalBindingExpectation(string OsUser, string Namespace, string BindingName, string RoleRefKind, string RoleRefName, K8sSubject Subject)
{
    /// <summary>How the Kubernetes provider names the object it reads: namespace/name.</summary>
    public string Id => $"{Namespace}/{BindingName}";
}

/// <summary>Everything Workstation does in the cluster for one user.</summary>
public sealed record K8sUserAccess(string OsUser, IReadOnlyList<BindingSpec> Bindings, IReadOnlyList<ExternalBindingExpectation> ExternalBindings)
{
    /// <summary>The ClusterRoleBindings other stacks made for the person (roster cluster_bindings): read and held to the tier.</summary>
    public IReadOnlyList<ClusterBindingExpectation> ClusterBindings { get; init; } = [];
}

/// <summary>
/// How the apiserver names OIDC users: its --oidc-username-prefix and which claim it reads.
/// Build it from the roster (<see cref="From"/>) so it agrees with <see cref="DerivedUser.K8sSubject"/>.
/// </summary>
public sealed record K8sOptions(string UsernamePrefix, K8sUsernameClaim UsernameClaim, string NamespaceOwnerClusterRole = "admin")
{
    public static K8sOptions From(RosterSettings settings) => new(settings.K8sUsernamePrefix, settings.K8sUsernameClaim);
}

/// <summary>Pure mapping from a derived user to the RBAC objects the Pulumi program creates.</summary>
public static class K8sAccess
{
    public const string ClusterRoleBinding = "ClusterRoleBinding";
    public const string RoleBinding = "RoleBinding";
    public const string ClusterRole = "ClusterRole";
    public const string UserKind = "User";
    public const string RbacApiGroup = "rbac.authorization.k8s.io";

    public const string PowerUserRoleName = "workstation-power-user-readonly";

    private static readonly string[] ReadVerbs = ["get", "list", "watch"];

    /// <summary>
    /// Read-only, cluster-wide, by explicit enumeration: a "*" would silently grant secrets and
    /// every subresource (exec, attach, portforward, proxy) of kinds added later. Absent on
    /// purpose: secrets, pods/exec, pods/attach, pods/portforward, */proxy, serviceaccounts/token,
    /// and review kinds that only take create. CRDs' own kinds need adding here by name.
    /// </summary>
    private static readonly (string Group, string[] Resources)[] PowerUserReadable =
    [
        ("", [
            "componentstatuses", "configmaps", "endpoints", "events", "limitranges",
            "namespaces", "namespaces/status", "nodes", "nodes/status",
            "persistentvolumeclaims", "persistentvolumeclaims/status", "persistentvolumes", "persistentvolumes/status",
            "pods", "pods/log", "pods/status", "podtemplates",
            "replicationcontrollers", "replicationcontrollers/scale", "replicationcontrollers/status",
            "resourcequotas", "resourcequotas/status", "serviceaccounts", "services", "services/status",
        ]),
        ("admissionregistration.k8s.io", [
            "mutatingwebhookconfigurations", "validatingadmissionpolicies", "validatingadmissionpolicybindings",
            "validatingwebhookconfigurations",
        ]),
        ("apiextensions.k8s.io", ["customresourcedefinitions"]),
        ("apiregistration.k8s.io", ["apiservices"]),
        ("apps", [
            "controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
            "deployments/status", "replicasets", "replicasets/scale", "replicasets/status",
            "statefulsets", "statefulsets/scale", "statefulsets/status",
        ]),
        ("autoscaling", ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
        ("batch", ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
        ("certificates.k8s.io", ["certificatesigningrequests"]),
        ("coordination.k8s.io", ["leases"]),
        ("discovery.k8s.io", ["endpointslices"]),
        ("events.k8s.io", ["events"]),
        ("flowcontrol.apiserver.k8s.io", ["flowschemas", "prioritylevelconfigurations"]),
        ("metrics.k8s.io", ["nodes", "pods"]),
        ("networking.k8s.io", ["ingressclasses", "ingresses", "ingresses/status", "networkpolicies"]),
        ("node.k8s.io", ["runtimeclasses"]),
        ("policy", ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
        ("rbac.authorization.k8s.io", ["clusterrolebindings", "clusterroles", "rolebindings", "roles"]),
        ("scheduling.k8s.io", ["priorityclasses"]),
        ("storage.k8s.io", ["csidrivers", "csinodes", "csistoragecapacities", "storageclasses", "volumeattachments"]),
    ];

    /// <summary>The one shared ClusterRole every power-user is bound to.</summary>
    public static ClusterRoleSpec PowerUserReadOnlyRole { get; } = new(
        PowerUserRoleName,
        PowerUserReadable
            .OrderBy(g => g.Group, StringComparer.Ordinal)
            .Select(g => new RbacRule([g.Group], g.Resources.Order(StringComparer.Ordinal).ToList(), ReadVerbs))
            .ToList(),
        AccessLabels.Shared);

    /// <summary>Every (apiGroup, resource, verb) the power-user role grants: the power-user tier's ceiling.</summary>
    public static IReadOnlySet<(string Group, string Resource, string Verb)> PowerUserGrants { get; } =
        PowerUserReadable.SelectMany(g => g.Resources.SelectMany(r => ReadVerbs.Select(v => (g.Group, r, v)))).ToHashSet();

    /// <summary>The ClusterRoles Workstation owns (created whether or not anyone is bound, so a tier change never has to create it).</summary>
    public static IReadOnlyList<ClusterRoleSpec> ClusterRoles { get; } = [PowerUserReadOnlyRole];

    /// <summary>The Kubernetes user the apiserver sees for this person.</summary>
    public static K8sSubject Subject(DerivedUser u, K8sOptions o) =>
        new(UserKind, o.UsernamePrefix + (o.UsernameClaim == K8sUsernameClaim.Email && u.Email is { } e ? e : u.K8sUser));

    public static string PowerUserBindingName(string osUser) => $"{AccessLabels.NamePrefix}-{osUser}-power-user-readonly";

    public static string NamespaceOwnerBindingName(string osUser) => $"{AccessLabels.NamePrefix}-{osUser}-admin";

    /// <summary>admin: nothing; power-user: one ClusterRoleBinding; namespace-owner: one RoleBinding per own namespace not bound externally.</summary>
    public static K8sUserAccess For(DerivedUser u, K8sOptions o)
    {
        var subject = Subject(u, o);
        var labels = AccessLabels.ForUser(u.OsUser);
        var cluster = u.ClusterBindings.Select(n => new ClusterBindingExpectation(u.OsUser, n, u.Tier, subject)).ToList();
        return ForTier(u, o, subject, labels) with { ClusterBindings = cluster };
    }

    private static K8sUserAccess ForTier(DerivedUser u, K8sOptions o, K8sSubject subject, IReadOnlyDictionary<string, string> labels)
    {
        switch (u.Tier)
        {
            case Tier.Admin:
                return new(u.OsUser, [], []);
            case Tier.PowerUser:
                return new(u.OsUser,
                    [new BindingSpec(ClusterRoleBinding, PowerUserBindingName(u.OsUser), null, ClusterRole, PowerUserRoleName, [subject], labels)],
                    []);
            case Tier.NamespaceOwner:
                var external = u.ExternalBindings;
                var namespaces = u.Namespaces.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
                return new(u.OsUser,
                    namespaces.Where(ns => !external.ContainsKey(ns))
                        .Select(ns => new BindingSpec(RoleBinding, NamespaceOwnerBindingName(u.OsUser), ns, ClusterRole, o.NamespaceOwnerClusterRole, [subject], labels))
                        .ToList(),
                    namespaces.Where(external.ContainsKey)
                        .Select(ns => new ExternalBindingExpectation(u.OsUser, ns, external[ns], ClusterRole, o.NamespaceOwnerClusterRole, subject))
                        .ToList());
            default:
                throw new ArgumentOutOfRangeException(nameof(u), u.Tier, "unknown tier");
        }
    }

    /// <summary>Every user's access, sorted by os_user.</summary>
    public static IReadOnlyList<K8sUserAccess> For(DerivedRoster roster, K8sOptions o) =>
        roster.Users.OrderBy(u => u.OsUser, StringComparer.Ordinal).Select(u => For(u, o)).ToList();
}

using Workstation.Roster.Access;

namespace Workstation.Roster.Tests;

/// <summary>
/// One API request as the apiserver authorizes it. Namespace null means a cluster-scoped
/// request: a cluster-scoped kind (nodes) or a namespaced kind across all namespaces (`get pods -A`).
/// </summary>
internal sealed record RbacRequest(string User, string Verb, string ApiGroup, string Resource, string? Subresource = null, string? Namespace = null)
{
    public override string ToString() =>
        $"{User} {Verb} {(ApiGroup.Length == 0 ? "core" : ApiGroup)}/{Resource}{(Subresource is null ? "" : "/" + Subresource)} in {Namespace ?? "<cluster>"}";
}

/// <summary>
/// A role as the evaluator sees it. NamespacedOnly models a ClusterRole whose rules cover only
/// namespaced kinds (like the built-in `admin`) without listing them: its rules never apply to a
/// cluster-scoped request, even through a ClusterRoleBinding.
/// </summary>
internal sealed record EvalRole(string Name, IReadOnlyList<RbacRule> Rules, bool NamespacedOnly = false)
{
    /// <summary>
    /// The built-in `admin` ClusterRole, simplified for these tests to "every verb on every
    /// namespaced kind" (the real one denies a few, e.g. resourcequotas writes; that only makes
    /// the real role narrower than modelled, never wider).
    /// </summary>
    public static EvalRole BuiltInAdmin { get; } = new("admin", [new RbacRule(["*"], ["*"], ["*"])], NamespacedOnly: true);

    public static EvalRole From(ClusterRoleSpec spec) => new(spec.Name, spec.Rules);
}

/// <summary>
/// A small Kubernetes RBAC authorizer with the real semantics for what Workstation uses:
/// a ClusterRoleBinding grants its ClusterRole everywhere; a RoleBinding grants its Role or
/// ClusterRole only in the binding's namespace; subresources are matched as `resource/sub`
/// (or `*/sub`); "*" matches anything; an unresolvable roleRef grants nothing; default deny.
/// Subjects are matched by kind User and exact (case-sensitive) name; groups aren't modelled.
/// </summary>
internal sealed class RbacEvaluator(IEnumerable<EvalRole> clusterRoles, IEnumerable<BindingSpec> bindings, IEnumerable<(string Namespace, EvalRole Role)>? roles = null)
{
    private readonly Dictionary<string, EvalRole> _clusterRoles = clusterRoles.ToDictionary(r => r.Name, StringComparer.Ordinal);
    private readonly Dictionary<(string, string), EvalRole> _roles = (roles ?? []).ToDictionary(r => (r.Namespace, r.Role.Name), r => r.Role);
    private readonly List<BindingSpec> _bindings = bindings.ToList();

    public bool Allows(RbacRequest r) => _bindings.Any(b => Grants(b, r));

    private bool Grants(BindingSpec b, RbacRequest r)
    {
        if (!b.Subjects.Any(s => s.Kind == "User" && s.Name == r.User)) return false;
        EvalRole? role;
        switch (b.Kind)
        {
            case "ClusterRoleBinding":
                // A ClusterRoleBinding can only reference a ClusterRole; it applies in every namespace and cluster-wide.
                if (b.Namespace is not null || b.RoleRefKind != "ClusterRole") return false;
                role = _clusterRoles.GetValueOrDefault(b.RoleRefName);
                break;
            case "RoleBinding":
                // Only requests inside the binding's namespace; a cluster-scoped request never matches.
                if (b.Namespace is null || r.Namespace != b.Namespace) return false;
                role = b.RoleRefKind switch
                {
                    "ClusterRole" => _clusterRoles.GetValueOrDefault(b.RoleRefName),
                    "Role" => _roles.GetValueOrDefault((b.Namespace, b.RoleRefName)),
                    _ => null,
                };
                break;
            default:
                return false;
        }
        if (role is null) return false;
        if (role.NamespacedOnly && r.Namespace is null) return false;
        var combined = r.Subresource is null ? r.Resource : $"{r.Resource}/{r.Subresource}";
        return role.Rules.Any(rule =>
            rule.Verbs.Any(v => v == "*" || v == r.Verb)
            && rule.ApiGroups.Any(g => g == "*" || g == r.ApiGroup)
            && rule.Resources.Any(res => res == "*" || res == combined || (r.Subresource is { } sub && res == "*/" + sub)));
    }
}

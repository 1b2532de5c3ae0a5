namespace Workstation.Roster.Access;

/// <summary>A RoleBinding as read from the cluster: only the parts the assertion looks at.</summary>
public sealed record ObservedBinding(string Name, string Namespace, string RoleRefKind, string RoleRefName, IReadOnlyList<K8sSubject> Subjects);

/// <summary>
/// Asserts a binding another stack owns (roster `external_bindings`). Workstation never writes
/// it, so a drift there must stop the deploy with a message that says what to fix, not be papered over.
/// </summary>
public static class ExternalBindingCheck
{
    /// <summary>Null when <paramref name="observed"/> grants what the roster expects; otherwise one line saying what is wrong.</summary>
    public static string? Check(ExternalBindingExpectation expected, ObservedBinding? observed)
    {
        var where = $"{expected.OsUser}/{expected.Namespace}";
        if (observed is null)
            return $"{where}: no RoleBinding '{expected.BindingName}' found; external_bindings says another stack binds {Describe(expected.Subject)} to {expected.RoleRefKind} '{expected.RoleRefName}' here";

        var problems = new List<string>();
        if (observed.Name != expected.BindingName)
            problems.Add($"is not the one external_bindings names ('{expected.BindingName}')");
        if (observed.Namespace != expected.Namespace)
            problems.Add($"is in namespace '{observed.Namespace}', expected '{expected.Namespace}'");
        if (observed.RoleRefKind != expected.RoleRefKind)
            problems.Add($"binds {observed.RoleRefKind} '{observed.RoleRefName}', expected {expected.RoleRefKind} '{expected.RoleRefName}'");
        else if (observed.RoleRefName != expected.RoleRefName)
            problems.Add($"binds {observed.RoleRefKind} '{observed.RoleRefName}', expected '{expected.RoleRefName}'");
        // Kubernetes user names are case-sensitive, so the comparison is too.
        if (!observed.Subjects.Any(s => s.Kind == expected.Subject.Kind && s.Name == expected.Subject.Name))
        {
            var has = observed.Subjects.Count == 0 ? "no subjects" : string.Join(", ", observed.Subjects.Select(Describe));
            problems.Add($"does not bind {Describe(expected.Subject)} (it binds {has})");
        }
        return problems.Count == 0 ? null : $"{where}: RoleBinding {observed.Name} {string.Join(", and ", problems)}";
    }

    private static string Describe(K8sSubject s) => $"{s.Kind} '{s.Name}'";
}

/// <summary>
/// A ClusterRoleBinding another stack made for the person (roster `cluster_bindings`, e.g. the
/// seed's k8s_users): read by name with the ClusterRole it binds, never created or changed.
/// </summary>
public sealed record ClusterBindingExpectation(string OsUser, string BindingName, Tier Tier, K8sSubject Subject);

/// <summary>One rule of a ClusterRole as read (resources or non-resource URLs).</summary>
public sealed record ObservedRule(IReadOnlyList<string> ApiGroups, IReadOnlyList<string> Resources, IReadOnlyList<string> Verbs, IReadOnlyList<string> NonResourceUrls);

/// <summary>A ClusterRoleBinding as read, and the rules of the role it binds.</summary>
public sealed record ObservedClusterBinding(string Name, string RoleRefKind, string RoleRefName, IReadOnlyList<K8sSubject> Subjects, IReadOnlyList<ObservedRule> Rules);

/// <summary>
/// The seed's rule that the workstation tier and the cluster tier must not silently diverge:
/// a binding another stack made must bind this person, and grant no more than the roster's tier.
/// </summary>
public static class ClusterBindingCheck
{
    /// <summary>How many of the grants beyond the tier an error lists.</summary>
    public const int Shown = 3;

    /// <summary>Null when the binding binds the person within the tier; otherwise one line saying what is wrong.</summary>
    public static string? Check(ClusterBindingExpectation expected, ObservedClusterBinding? observed)
    {
        var subject = $"{expected.Subject.Kind} '{expected.Subject.Name}'";
        if (observed is null)
            return $"{expected.OsUser}: no ClusterRoleBinding '{expected.BindingName}' found; cluster_bindings says another stack binds {subject} with it";
        if (!observed.Subjects.Any(s => s.Kind == expected.Subject.Kind && s.Name == expected.Subject.Name))
            return $"{expected.OsUser}: ClusterRoleBinding {observed.Name} does not bind {subject}";
        var beyond = Beyond(expected.Tier, observed.Rules);
        if (beyond.Count == 0) return null;
        var shown = string.Join(", ", beyond.Take(Shown)) + (beyond.Count > Shown ? $" and {beyond.Count - Shown} more" : "");
        return $"{expected.OsUser}: ClusterRoleBinding {observed.Name} binds {observed.RoleRefKind} '{observed.RoleRefName}', " +
            $"which grants more than the roster's tier {expected.Tier.ToYaml()} ({TierCeiling(expected.Tier)}): {shown}";
    }

    /// <summary>
    /// What the rules grant beyond the tier, as "VERB GROUP/RESOURCE" (or "VERB URL"), once each,
    /// sorted. admin: nothing is beyond it. power-user: anything the power-user role doesn't
    /// grant (a wildcard always is). namespace-owner: any cluster-wide grant. A non-resource URL
    /// may only be read (get), as everyone's discovery role allows.
    /// </summary>
    public static IReadOnlyList<string> Beyond(Tier tier, IEnumerable<ObservedRule> rules)
    {
        if (tier == Tier.Admin) return [];
        var ceiling = tier == Tier.PowerUser ? K8sAccess.PowerUserGrants : new HashSet<(string, string, string)>();
        var beyond = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var r in rules)
        {
            foreach (var url in r.NonResourceUrls)
                foreach (var verb in r.Verbs.Where(v => v != "get"))
                    beyond.Add($"{verb} {url}");
            foreach (var g in r.ApiGroups)
                foreach (var res in r.Resources)
                    foreach (var verb in r.Verbs.Where(v => !ceiling.Contains((g, res, v))))
                        beyond.Add($"{verb} {(g.Length == 0 ? "" : g + "/")}{res}");
        }
        return beyond.ToList();
    }

    private static string TierCeiling(Tier tier) => tier switch
    {
        Tier.PowerUser => $"at most what ClusterRole {K8sAccess.PowerUserRoleName} grants: get, list, watch, no secrets",
        Tier.NamespaceOwner => "nothing cluster-wide",
        _ => "everything",
    };
}

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

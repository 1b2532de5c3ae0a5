namespace Workstation.Roster.Access;

/// <summary>
/// The edge gate: only members of one Authentik group reach the workstation host. Membership
/// is an authoritative list set on the group (by Authentik username) and managed from that
/// side only, so a user removed from the roster drops out of the group on the next deploy.
/// </summary>
public static class AuthentikAccess
{
    public const string GroupName = "T3 Users";

    /// <summary>The expression policy that admits only the group (its Authentik name).</summary>
    public const string PolicyName = "workstation-t3-users-only";

    /// <summary>The group's members: every roster person (the admin included) by authentik_user, sorted, distinct.</summary>
    public static IReadOnlyList<string> Members(DerivedRoster roster) => Members(roster.Users);

    public static IReadOnlyList<string> Members(IEnumerable<DerivedUser> people) =>
        people.Select(p => p.AuthentikUser).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    /// <summary>The expression policy body: allow exactly the group's members.</summary>
    public static string PolicyExpression() => $"return ak_is_group_member(request.user, name={PythonString(GroupName)})";

    // The expression is Python; quoting stays correct if the group name ever changes.
    private static string PythonString(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}

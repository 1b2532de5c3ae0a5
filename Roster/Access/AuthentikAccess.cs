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

    /// <summary>
    /// Why T3 Users membership would not be what decides t3 access, given the t3 application's
    /// policy engine mode and its proxy provider's mode as Authentik reports them; null: it decides.
    /// The provider has no data source that lists an application's bindings, so under `any` another
    /// passing binding can't be ruled out: only `all` (every binding must pass) makes the group's
    /// binding a requirement. A domain-level (forward_domain) provider is shared by every host under
    /// its cookie domain: binding the group there opens or closes all of them, not t3 alone.
    /// </summary>
    public static string? WhyMembershipDoesNotDecide(string slug, string? engineMode, string? proxyMode)
    {
        if (engineMode != "all")
            return $"the Authentik application '{slug}' has policy engine mode '{engineMode ?? "unset"}': under any mode but 'all', another binding that " +
                $"passes (a policy, group or user bound to it) lets people outside '{GroupName}' into t3, and the provider can't list its bindings to rule " +
                "that out. Set the application's Policy engine mode to 'all' (Admin interface > Applications > t3 > Edit), then preview again";
        if (proxyMode != "proxy" && proxyMode != "forward_single")
            return $"the Authentik application '{slug}' is served by a proxy provider in mode '{proxyMode ?? "unset"}', not one for t3 alone: " +
                $"{(proxyMode == "forward_domain" ? "a domain-level application is shared by every host under its cookie domain, so binding '" + GroupName + "' to it opens or closes all of them" : "Workstation can't tell which hosts it covers")}. " +
                "Give t3 its own application with a proxy provider in mode 'forward_single' (or 'proxy') and set authentikT3AppSlug to it (docs/adopting-a-live-devvm.md)";
        return null;
    }

    // The expression is Python; quoting stays correct if the group name ever changes.
    private static string PythonString(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}

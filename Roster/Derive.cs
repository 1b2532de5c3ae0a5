namespace Workstation.Roster;

/// <summary>A Kubernetes RBAC subject for a user's OIDC identity.</summary>
public sealed record K8sSubject(string Kind, string Name);

/// <summary>Everything the host, cluster and identity layers need to know about one person.</summary>
public sealed record DerivedUser(
    string OsUser,
    string AuthentikUser,
    string K8sUser,
    string? Email,
    Tier Tier,
    bool IsAdmin,
    int? Uid,
    bool Adopt,
    IReadOnlyList<string> RevokeGroups,
    bool PrivateHome,
    Ports Ports,
    IReadOnlyList<string> TierGroups,
    string MarkerGroup,
    string Home,
    IReadOnlyList<string> Services,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> EnvFiles,
    IReadOnlyList<string> Namespaces,
    IReadOnlyDictionary<string, string> ExternalBindings,
    K8sSubject K8sSubject);

public sealed record DerivedRoster(
    RosterSettings Settings,
    IReadOnlyList<DerivedUser> Users,
    IReadOnlyList<RetiredUser> Retired);

/// <summary>Pure functions from a validated roster to the per-user model. Order-independent by construction.</summary>
public static class Derivation
{
    public static DerivedRoster Derive(RosterModel roster) => new(
        roster.Settings,
        roster.Everyone.Select(p => Derive(p, roster.Settings)).OrderBy(u => u.OsUser, StringComparer.Ordinal).ToList(),
        roster.Retired.OrderBy(r => r.OsUser, StringComparer.Ordinal).ToList());

    public static DerivedUser Derive(Person p, RosterSettings settings) => new(
        p.OsUser,
        p.AuthentikUser,
        p.K8sUser,
        p.Email,
        p.Tier,
        p.Tier == Tier.Admin,
        p.Uid,
        p.Adopt,
        p.RevokeGroups.Order(StringComparer.Ordinal).ToList(),
        p.PrivateHome,
        p.Ports,
        Rules.TierGroups(p.Tier),
        Rules.MarkerGroup,
        $"/home/{p.OsUser}",
        Services(p.OsUser),
        new SortedDictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal)
        {
            [PlaywrightEnvFile(p.OsUser)] = new SortedDictionary<string, string> { ["PLAYWRIGHT_PORT"] = Num(p.Ports.Playwright) },
            [T3EnvFile(p.OsUser)] = new SortedDictionary<string, string> { ["T3_PORT"] = Num(p.Ports.T3) },
        },
        p.Namespaces.Order(StringComparer.Ordinal).ToList(),
        new SortedDictionary<string, string>(p.ExternalBindings.ToDictionary(), StringComparer.Ordinal),
        new K8sSubject("User", settings.K8sUsernamePrefix + (settings.K8sUsernameClaim == K8sUsernameClaim.Email && p.Email is { } e ? e : p.K8sUser)));

    /// <summary>The systemd units a user runs (instances of the templates in host/units).</summary>
    public static IReadOnlyList<string> Services(string osUser) =>
    [
        $"playwright-mcp@{osUser}.service",
        $"playwright-snapshot-refresh@{osUser}.timer",
        $"t3-serve@{osUser}.service",
    ];

    public static string PlaywrightEnvFile(string osUser) => $"/etc/workstation/playwright-{osUser}.env";

    public static string T3EnvFile(string osUser) => $"/etc/workstation/t3-{osUser}.env";

    private static string Num(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

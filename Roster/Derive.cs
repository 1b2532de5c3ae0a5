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
    K8sSubject K8sSubject,
    Budget Budget,
    IReadOnlyList<SharedSecret> Secrets)
{
    /// <summary><see cref="Person.ClusterBindings"/>, sorted.</summary>
    public IReadOnlyList<string> ClusterBindings { get; init; } = [];

    /// <summary><see cref="Person.OpenHome"/>: an open home is the roster's intent, not drift.</summary>
    public bool OpenHome { get; init; }

    /// <summary><see cref="Person.ExtraGroups"/>, sorted: groups held without drift, never added.</summary>
    public IReadOnlyList<string> ExtraGroups { get; init; } = [];
    /// <summary>Observed: the host sets no MemoryHigh/MemoryMax for this person (adopted, no memory budget in the entry).</summary>
    public MemoryLimits MemoryLimits { get; init; } = MemoryLimits.Enforced;

    /// <summary><see cref="Person.KubeAuth"/>: how the first ~/.kube/config authenticates.</summary>
    public KubeAuth KubeAuth { get; init; } = KubeAuth.Oidc;

    /// <summary><see cref="Person.Host"/>: the devvm they live on; null: not placed (in a one-host fleet, that host).</summary>
    public string? Host { get; init; }

    /// <summary><see cref="Person.MovedFrom"/>: the host they move away from; null: no move.</summary>
    public string? MovedFrom { get; init; }
}

/// <summary>
/// One roster entry in its lifecycle state: the one type every layer switches on, from the
/// roster model to the component. A person is either active (the admin or a user) or retired
/// (a tombstone under `retired:`); the same os_user keeps the same resources in both.
/// </summary>
public abstract record Member(string OsUser)
{
    /// <summary>On the devvm, in the cluster and in Vault.</summary>
    public sealed record Active(DerivedUser User) : Member(User.OsUser);

    /// <summary>Cut: uid and ports reserved, the Vault entity kept disabled.</summary>
    public sealed record Retired(RetiredUser Tombstone) : Member(Tombstone.OsUser);

    /// <summary>The `state` a component reports: `active`, `retired`, or `purged` (retired with `purge: true`).</summary>
    public string State => this switch
    {
        Active => "active",
        Retired { Tombstone.Purge: true } => "purged",
        Retired => "retired",
        _ => throw new InvalidOperationException($"unknown member state {GetType().Name}"),
    };
}

/// <param name="Members">Everyone in the roster, active and retired, sorted by os_user.</param>
public sealed record DerivedRoster(RosterSettings Settings, IReadOnlyList<Member> Members)
{
    /// <summary>The active people (the admin and the users), sorted by os_user.</summary>
    public IReadOnlyList<DerivedUser> Users { get; } = Members.OfType<Member.Active>().Select(a => a.User).ToList();

    /// <summary>The tombstones, sorted by os_user.</summary>
    public IReadOnlyList<RetiredUser> Retired { get; } = Members.OfType<Member.Retired>().Select(r => r.Tombstone).ToList();
}

/// <summary>Pure functions from a validated roster to the per-user model. Order-independent by construction.</summary>
public static class Derivation
{
    public static DerivedRoster Derive(RosterModel roster) => new(
        roster.Settings,
        roster.Everyone.Select(p => (Member)new Member.Active(Derive(p, roster.Settings)))
            .Concat(roster.Retired.Select(r => new Member.Retired(r)))
            .OrderBy(m => m.OsUser, StringComparer.Ordinal).ToList());

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
            [PlaywrightEnvFile(p.OsUser)] = new SortedDictionary<string, string> { [PlaywrightPortKey] = Num(p.Ports.Playwright) },
            [T3EnvFile(p.OsUser)] = new SortedDictionary<string, string> { [T3PortKey] = Num(p.Ports.T3) },
        },
        p.Namespaces.Order(StringComparer.Ordinal).ToList(),
        new SortedDictionary<string, string>(p.ExternalBindings.ToDictionary(), StringComparer.Ordinal),
        new K8sSubject("User", settings.K8sUsernamePrefix + (settings.K8sUsernameClaim == K8sUsernameClaim.Email && p.Email is { } e ? e : p.K8sUser)),
        (p.Budget ?? BudgetOverride.None).Over(settings.BudgetOf(p.Tier)),
        SharedSecrets.Eligible(p.Ha, p.Memory, p.ClaudeLogin, p.KubeAuth))
    {
        KubeAuth = p.KubeAuth,
        ClusterBindings = p.ClusterBindings.Order(StringComparer.Ordinal).ToList(),
        ExtraGroups = p.ExtraGroups.Order(StringComparer.Ordinal).ToList(),
        OpenHome = p.OpenHome,
        MemoryLimits = BudgetOverride.LimitsFor(p.Adopt, p.Budget),
        Host = p.Host,
        MovedFrom = p.MovedFrom,
    };

    /// <summary>The systemd units a user runs (instances of the templates in host/units).</summary>
    public static IReadOnlyList<string> Services(string osUser) => [PlaywrightUnit(osUser), SnapshotTimer(osUser), T3Unit(osUser)];

    /// <summary>The person's Playwright MCP server (host/units/playwright-mcp@.service).</summary>
    public static string PlaywrightUnit(string osUser) => $"playwright-mcp@{osUser}.service";

    /// <summary>The hourly refresh of the person's browser snapshot (host/units/playwright-snapshot-refresh@.timer).</summary>
    public static string SnapshotTimer(string osUser) => $"playwright-snapshot-refresh@{osUser}.timer";

    /// <summary>The person's t3 server (host/units/t3-serve@.service).</summary>
    public static string T3Unit(string osUser) => $"t3-serve@{osUser}.service";

    /// <summary>The EnvironmentFile of <see cref="PlaywrightUnit"/>: one line, <see cref="PlaywrightPortKey"/>=port.</summary>
    public static string PlaywrightEnvFile(string osUser) => $"/etc/workstation/playwright-{osUser}.env";

    /// <summary>The EnvironmentFile of <see cref="T3Unit"/>: one line, <see cref="T3PortKey"/>=port.</summary>
    public static string T3EnvFile(string osUser) => $"/etc/workstation/t3-{osUser}.env";

    /// <summary>The variable that carries the Playwright port into its unit (and its ExecStart).</summary>
    public const string PlaywrightPortKey = "PLAYWRIGHT_PORT";

    /// <summary>The variable that carries the t3 port into its unit (and the site's t3 command line).</summary>
    public const string T3PortKey = "T3_PORT";

    private static string Num(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

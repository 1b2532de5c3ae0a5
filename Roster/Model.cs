namespace Workstation.Roster;

/// <summary>One problem in the roster, located precisely enough to fix it.</summary>
public sealed record RosterError(string File, int Line, int Column, string Field, string Message)
{
    public override string ToString() => $"{File}:{Line}:{Column}: {Field}: {Message}";
}

public enum Tier { Admin, PowerUser, NamespaceOwner }

public sealed record Ports(int T3, int Playwright);

/// <summary>
/// A person on the devvm: the admin or a user, as written in the roster. ExternalBindings maps
/// a namespace to the name of the RoleBinding another stack made there for this person.
/// Budget is what the entry's `budget:` sets over its tier's budget (null: nothing).
/// RevokeGroups and PrivateHome are the explicit, reviewable fixes for host drift: the only
/// way a group is ever removed, or an existing home's mode changed.
/// </summary>
public sealed record Person(
    string OsUser,
    string AuthentikUser,
    string K8sUser,
    string? Email,
    Tier Tier,
    IReadOnlyList<string> Namespaces,
    IReadOnlyDictionary<string, string> ExternalBindings,
    Ports Ports,
    int? Uid,
    bool Adopt,
    IReadOnlyList<string> RevokeGroups,
    bool PrivateHome,
    BudgetOverride? Budget = null,
    bool Ha = false,
    MemoryAccess Memory = MemoryAccess.Shared,
    ClaudeLogin ClaudeLogin = ClaudeLogin.Interactive,
    KubeAuth KubeAuth = KubeAuth.Oidc)
{
    /// <summary>
    /// `cluster_bindings`: the ClusterRoleBindings another stack made for this person (e.g. the
    /// seed's k8s_users). Read at every preview: one that grants more than the tier stops it.
    /// </summary>
    public IReadOnlyList<string> ClusterBindings { get; init; } = [];

    /// <summary>
    /// `private_home: false`, written out: the home is open to others on purpose (say, links of the
    /// seed's shared base read through it), so an open home is not drift. Absent: it is reported.
    /// </summary>
    public bool OpenHome { get; init; }

    /// <summary>
    /// `extra_groups`: ordinary groups the person may keep (adm, lxd, ...): an allowance for
    /// drift, never a grant (applying doesn't add them). A privileged group can't be listed: it
    /// belongs to a tier, so extra_groups is never a quiet way to root.
    /// </summary>
    public IReadOnlyList<string> ExtraGroups { get; init; } = [];

    /// <summary>
    /// `host:` (issue 27): the devvm of the stack's `hosts:` this person lives on; null: not placed
    /// (in a one-host fleet, that host; else `roster place` proposes one).
    /// </summary>
    public string? Host { get; init; }

    /// <summary>
    /// `moved_from:`: the host this person is moving (or moved) away from. With it one `up` cuts
    /// them there, takes a final backup and restores it on <see cref="Host"/>; the cut stays there
    /// until the line goes (docs/fleet.md). Needs a pinned uid: the account on the new host keeps it.
    /// </summary>
    public string? MovedFrom { get; init; }
}

/// <summary>
/// A tombstone: a retired user whose uid and ports stay reserved for them. AuthentikUser (null:
/// not recorded) keeps their Vault alias, so a later login lands on the disabled entity and is refused.
/// Purge (the roster's explicit `purge: true`) archives the home, then deletes the account and the
/// Vault identity; the tombstone, its uid and ports stay.
/// </summary>
public sealed record RetiredUser(string OsUser, int? Uid, Ports Ports, string? AuthentikUser = null, string? K8sUser = null, bool Purge = false)
{
    private static readonly IReadOnlyDictionary<string, string> NoBindings = new SortedDictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// `external_bindings` kept from the entry: bindings another stack made that offboarding
    /// leaves in place. `roster drift` reports each until the owner removes it in the owning
    /// stack and then deletes it here (an explicit edit that shows in review).
    /// </summary>
    public IReadOnlyDictionary<string, string> ExternalBindings { get; init; } = NoBindings;

    /// <summary>`cluster_bindings` kept from the entry: reported by `roster drift` like ExternalBindings.</summary>
    public IReadOnlyList<string> ClusterBindings { get; init; } = [];

    /// <summary>`host:` (issue 27): the devvm the account was on, where a purge runs; null: the fleet's only host.</summary>
    public string? Host { get; init; }

    // By value, bindings included: two loads of the same tombstone are equal.
    public bool Equals(RetiredUser? other) =>
        other is not null && (OsUser, Uid, Ports, AuthentikUser, K8sUser, Purge, Host) == (other.OsUser, other.Uid, other.Ports, other.AuthentikUser, other.K8sUser, other.Purge, other.Host) &&
        ExternalBindings.OrderBy(b => b.Key, StringComparer.Ordinal).SequenceEqual(other.ExternalBindings.OrderBy(b => b.Key, StringComparer.Ordinal)) &&
        ClusterBindings.SequenceEqual(other.ClusterBindings, StringComparer.Ordinal);

    public override int GetHashCode() => HashCode.Combine(OsUser, Uid, Ports, AuthentikUser, K8sUser, Purge, ExternalBindings.Count, ClusterBindings.Count);
}

/// <param name="PrivilegedGroups">Groups that count as privileged on top of <see cref="Rules.PrivilegedGroups"/> (host drift reports them).</param>
/// <param name="TierBudgets">settings.budgets over <see cref="Budgets.Defaults"/>; null: the defaults.</param>
public sealed record RosterSettings(
    int T3BasePort,
    int PlaywrightBasePort,
    IReadOnlyList<string> DenyUsers,
    string K8sUsernamePrefix,
    K8sUsernameClaim K8sUsernameClaim,
    IReadOnlyList<string> PrivilegedGroups,
    IReadOnlyDictionary<Tier, Budget>? TierBudgets = null)
{
    public static RosterSettings Default { get; } = new(3773, 8931, [], "", K8sUsernameClaim.Email, []);

    /// <summary>A tier's budget: settings.budgets where it says, else the built-in one.</summary>
    public Budget BudgetOf(Tier tier) => TierBudgets?.GetValueOrDefault(tier) ?? Budgets.Defaults[tier];

    /// <summary>The built-in privileged groups and the roster's own, sorted, once each.</summary>
    public IReadOnlyList<string> AllPrivilegedGroups =>
        Rules.PrivilegedGroups.Concat(PrivilegedGroups).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
}

/// <summary>Which OIDC claim the apiserver uses as the Kubernetes user name.</summary>
public enum K8sUsernameClaim { Email, Name }

/// <summary>A roster that passed validation.</summary>
public sealed record RosterModel(
    RosterSettings Settings,
    Person Admin,
    IReadOnlyList<Person> Users,
    IReadOnlyList<RetiredUser> Retired)
{
    /// <summary>The admin followed by the users, in file order.</summary>
    public IEnumerable<Person> Everyone => Users.Prepend(Admin);

    /// <summary>The roster's file name, for errors the stack's fleet finds (an unknown host, a host over its ceiling).</summary>
    public string File { get; init; } = "roster.yaml";

    /// <summary>os_user → where their entry stands, and where its `host:` line does (the entry's when it has none).</summary>
    public IReadOnlyDictionary<string, (Loc Entry, Loc Host, Loc MovedFrom)> Lines { get; init; } = new Dictionary<string, (Loc, Loc, Loc)>();
}

public static class TierNames
{
    public static string ToYaml(this Tier tier) => tier switch
    {
        Tier.Admin => "admin",
        Tier.PowerUser => "power-user",
        Tier.NamespaceOwner => "namespace-owner",
        _ => throw new ArgumentOutOfRangeException(nameof(tier)),
    };

    public static Tier? Parse(string value) => value switch
    {
        "admin" => Tier.Admin,
        "power-user" => Tier.PowerUser,
        "namespace-owner" => Tier.NamespaceOwner,
        _ => null,
    };
}

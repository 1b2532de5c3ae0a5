using System.Text.RegularExpressions;

namespace Workstation.Roster;

/// <summary>
/// The naming and range rules. The host re-checks them from host/lib/rules.sh, which
/// <see cref="HostRules"/> generates from this class (a test fails when the two differ).
/// </summary>
public static partial class Rules
{
    // Patterns end in \z, not $: in .NET '$' also matches before a final newline, so "bob\n"
    // would pass and break the one-line host commands. Messages and docs show them with '$'.

    public const int MinPort = 1024;
    public const int MaxPort = 65535;
    public const int MinUid = 1000;
    public const int MaxUid = 59999;

    /// <summary>
    /// Each person's subordinate uid/gid range (rootless podman) is SubIdCount ids from
    /// SubIdStart(uid): one slot per uid, so no two people's ranges meet, placed above where
    /// useradd's own sequential allocations (from 100000, 65536 each) reach for any real number
    /// of accounts, and the last one (MaxUid) still ends below 2^32 - 1.
    /// </summary>
    public const long SubIdBase = 400_000_000;
    public const long SubIdCount = 65536;

    public static long SubIdStart(int uid) =>
        uid is < MinUid or > MaxUid ? throw new ArgumentOutOfRangeException(nameof(uid), uid, $"not a person's uid ({MinUid}-{MaxUid})")
            : SubIdBase + (uid - MinUid) * SubIdCount;

    /// <summary>The highest rotation serial of a shared secret (the host's --rotate takes up to 6 digits).</summary>
    public const int MaxRotationSerial = 999999;

    /// <summary>The idle gate's longest wait before a changed service restarts (a day), and its default.</summary>
    public const int MaxRestartIdleMinutes = 1440;

    /// <summary>How long a unit's processes get after SIGTERM at a stop before they are sent SIGKILL: a terminal that ignores SIGTERM can't hold up the cut.</summary>
    public const int UnitStopGraceSeconds = 5;

    /// <summary>How long one thing done as the person by `user secrets remove` may take: the delete finishes in bounded time whatever they left behind.</summary>
    public const int UnstageTimeoutSeconds = 30;
    public const int DefaultRestartIdleMinutes = 20;

    /// <summary>vm.swappiness's range (the kernel's, since 5.8).</summary>
    public const int MinSwappiness = 0, MaxSwappiness = 200;

    /// <summary>The group every managed account carries, so the host can tell managed accounts from others.</summary>
    public const string MarkerGroup = "workstation";

    /// <summary>
    /// A managed account: 1-32 characters, a lowercase letter first, a letter or digit last,
    /// '-' allowed between. Stricter than Linux, because os_user becomes part of Kubernetes
    /// object names and label values (DNS-1123: no '_', no trailing '-').
    /// </summary>
    [GeneratedRegex(@"^[a-z]([a-z0-9-]{0,30}[a-z0-9])?\z")]
    public static partial Regex OsUser();

    /// <summary>Any Linux account or group name (Debian's default NAME_REGEX, 32 characters): groups, the SSH user, the edge user.</summary>
    [GeneratedRegex(@"^[a-z_][a-z0-9_-]{0,31}\z")]
    public static partial Regex AccountName();

    [GeneratedRegex(@"^[A-Za-z0-9._@-]{1,64}\z")]
    public static partial Regex AuthentikUser();

    [GeneratedRegex(@"^[A-Za-z0-9._@:-]{1,64}\z")]
    public static partial Regex K8sUser();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\z")]
    public static partial Regex Dns1123Label();

    /// <summary>An absolute host path the program names (e.g. the purge archive folder): no component starts with a dot.</summary>
    [GeneratedRegex(@"^(/[A-Za-z0-9_-][A-Za-z0-9._-]*)+\z")]
    public static partial Regex HostPath();

    /// <summary>A restic repository the backup step takes: an absolute path, or a restic URL (sftp:, rest:, s3:, b2:, azure:, gs:, rclone:).</summary>
    [GeneratedRegex(@"^(/[A-Za-z0-9_.@/-]+|(sftp|rest|s3|b2|azure|gs|rclone):[A-Za-z0-9_.@:/?=&%+-]+)\z")]
    public static partial Regex ResticRepository();

    /// <summary>A systemd OnCalendar expression, conservatively (the host also asks systemd-analyze).</summary>
    [GeneratedRegex(@"^[A-Za-z0-9*,:./~ -]{1,64}\z")]
    public static partial Regex OnCalendar();

    /// <summary>A swap file size for the base step: 1 to 4 digits and M or G (e.g. 8G, 512M).</summary>
    [GeneratedRegex(@"^[1-9][0-9]{0,3}[MG]\z")]
    public static partial Regex SwapSize();

    /// <summary>
    /// Where the base step fetches the pinned tools instead of upstream: an http(s) URL or an
    /// absolute folder on the devvm. No '@': a mirror URL carries no credentials (it is on a command line).
    /// </summary>
    [GeneratedRegex(@"^(https?://[A-Za-z0-9._~:/?=&%+-]+|/[A-Za-z0-9_-][A-Za-z0-9._/-]*)\z")]
    public static partial Regex ToolsMirror();

    /// <summary>
    /// An npm package pinned to one exact version, NAME@X.Y.Z (optionally -pre or +build): never
    /// @latest, a tag or a range, so a fleet never rolls silently (the seed's T3_PIN).
    /// </summary>
    [GeneratedRegex(@"^(@[a-z0-9][a-z0-9._-]{0,60}/)?[a-z0-9][a-z0-9._-]{0,100}@[0-9]+[.][0-9]+[.][0-9]+([-+][0-9A-Za-z.-]{1,40})?\z")]
    public static partial Regex NpmPin();

    /// <summary>The config base's ref: a branch, tag or commit (the host also refuses '..', a trailing '/' and '.lock').</summary>
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}\z")]
    public static partial Regex ConfigBaseRef();

    /// <summary>
    /// A git commit pinned by its full hash (40 lowercase hex digits): the only config-base ref whose
    /// hooks are merged without the stack's configBaseHooks (a branch moves with whoever can push).
    /// </summary>
    [GeneratedRegex(@"^[0-9a-f]{40}\z")]
    public static partial Regex CommitHash();

    /// <summary>
    /// True when a URL names a password (any scheme) or, for http(s), any user at all (there it is
    /// a token: https://TOKEN@host/...). ssh://git@host/... and scp-like git@host:path pass. A
    /// restic backend prefix counts as nothing (rest:https://user:pw@host/ carries credentials).
    /// The host's no_credentials (validate.sh) reads a URL the same way: after the first "://",
    /// up to "/", "?" or "#", the user part before the last "@".
    /// </summary>
    public static bool CarriesCredentials(string url)
    {
        var sep = url.IndexOf("://", StringComparison.Ordinal);
        if (sep < 0) return false;
        var rest = url[(sep + 3)..];
        var end = rest.IndexOfAny(['/', '?', '#']);
        var authority = end < 0 ? rest : rest[..end];
        var at = authority.LastIndexOf('@');
        if (at < 0) return false;
        var scheme = url[..sep];
        scheme = scheme[(scheme.LastIndexOf(':') + 1)..];
        return authority[..at].Contains(':') || scheme is "http" or "https";
    }

    /// <summary>The largest file a backup reads by default (restic --exclude-larger-than); larger ones are skipped and reported.</summary>
    public const string DefaultBackupMaxFileSize = "4G";
    /// <summary>
    /// Where the base runs node_exporter (the stack's nodeExporter): loopback (127.0.0.1:9100),
    /// off (the base leaves node_exporter alone), or one IPv4 listen address, ADDRESS:PORT.
    /// </summary>
    [GeneratedRegex(@"^(loopback|off|((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])[.]){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]):([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))\z")]
    public static partial Regex NodeExporter();

    /// <summary>The stack's nodeExporter default: listening on this address only.</summary>
    public const string NodeExporterLoopback = "127.0.0.1:9100";

    /// <summary>A memory size in a budget: bytes, or K, M, G or T (powers of 1024), as systemd reads it (e.g. 4G).</summary>
    [GeneratedRegex(@"^[1-9][0-9]{0,12}[KMGT]?\z")]
    public static partial Regex MemorySize();

    /// <summary>An object name such as a RoleBinding's (Kubernetes' IsDNS1123Subdomain); also at most <see cref="MaxDns1123Subdomain"/> characters.</summary>
    // [.] rather than \.: the same pattern goes to bash (HostRules), whose ERE reads both alike.
    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*\z")]
    public static partial Regex Dns1123Subdomain();

    public const int MaxDns1123Subdomain = 253;

    [GeneratedRegex(@"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+\z")]
    public static partial Regex Email();

    /// <summary>System and well-known accounts that are never managed.</summary>
    public static IReadOnlySet<string> ReservedUsers { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp",
        "proxy", "www-data", "backup", "list", "irc", "gnats", "nobody", "_apt",
        "systemd-network", "systemd-resolve", "systemd-timesync", "systemd-coredump",
        "messagebus", "sshd", "polkitd", "workstation",
    };

    /// <summary>Tier groups: only the admin gets any; every account also gets the marker group.</summary>
    public static IReadOnlyList<string> TierGroups(Tier tier) =>
        tier == Tier.Admin ? AdminGroups : [];

    private static readonly string[] AdminGroups = [SharedCodeGroup, "docker", "sudo"];

    /// <summary>The group of the old shared code tree (the cutover takes a person out of it, its rollback back in).</summary>
    public const string SharedCodeGroup = "code-shared";

    /// <summary>
    /// Groups that reach beyond the holder's own account (root, or another person's files).
    /// Holding one that the tier does not grant is drift: reported, and removed only by an
    /// explicit revoke_groups. settings.privileged_groups adds to this list.
    /// </summary>
    public static IReadOnlyList<string> PrivilegedGroups { get; } = AdminGroups;

    /// <summary>
    /// Names an os_user can't take because Workstation manages a group of that name: the marker
    /// group and every tier group (useradd -U would collide, and the account would read as a grant).
    /// </summary>
    public static IReadOnlySet<string> ReservedGroupNames { get; } =
        new SortedSet<string>(Enum.GetValues<Tier>().SelectMany(TierGroups).Append(MarkerGroup), StringComparer.Ordinal);

    /// <summary>
    /// What YAML 1.2 (core schema, as editors and roster.schema.json read it) makes of a plain
    /// scalar that is not a string: "number", "boolean" or "null"; null when it is a string.
    /// The empty value is left to the "must not be empty" checks.
    /// </summary>
    public static string? CoreNonString(string plain) => plain switch
    {
        "" => null,
        "~" or "null" or "Null" or "NULL" => "null",
        "true" or "True" or "TRUE" or "false" or "False" or "FALSE" => "boolean",
        _ when CoreNumber().IsMatch(plain) => "number",
        _ => null,
    };

    [GeneratedRegex(@"^([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))\z")]
    private static partial Regex CoreNumber();

    /// <summary>A pattern as documented (and as in roster.schema.json): with '$' for the end.</summary>
    public static string Display(Regex pattern) => pattern.ToString().Replace(@"\z", "$", StringComparison.Ordinal);

    /// <summary>Explains why a name fails its pattern, naming the first offending character.</summary>
    public static string WhyInvalid(string value, Regex pattern)
    {
        if (value.Length == 0) return "it is empty";
        foreach (var c in value)
        {
            if (c > 0x7f) return $"it contains the non-ASCII character U+{(int)c:X4} '{c}' (a look-alike?)";
            if (char.IsControl(c)) return $"it contains the control character U+{(int)c:X4}";
            if (c == '/') return "it contains a path separator or '..'";
            if (ShellMetacharacters.Contains(c)) return $"it contains the shell metacharacter '{c}'";
        }
        if (value.Contains("..", StringComparison.Ordinal)) return "it contains a path separator or '..'";
        return $"it must match {Display(pattern)}";
    }

    private const string ShellMetacharacters = ";&|$`<>(){}[]*?!~#'\"\\ \t\n";
}

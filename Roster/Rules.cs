using System.Text.RegularExpressions;

namespace Workstation.Roster;

/// <summary>
/// The naming and range rules. host/lib/validate.sh re-checks the same rules on
/// the host; tests/Roster.Tests keep the two in step.
/// </summary>
public static partial class Rules
{
    public const int MinPort = 1024;
    public const int MaxPort = 65535;
    public const int MinUid = 1000;
    public const int MaxUid = 59999;

    /// <summary>The group every managed account carries, so the host can tell managed accounts from others.</summary>
    public const string MarkerGroup = "workstation";

    [GeneratedRegex("^[a-z_][a-z0-9_-]{0,31}$")]
    public static partial Regex OsUser();

    [GeneratedRegex("^[A-Za-z0-9._@-]{1,64}$")]
    public static partial Regex AuthentikUser();

    [GeneratedRegex("^[A-Za-z0-9._@:-]{1,64}$")]
    public static partial Regex K8sUser();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    public static partial Regex Dns1123Label();

    [GeneratedRegex(@"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$")]
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
        tier == Tier.Admin ? ["code-shared", "docker", "sudo"] : [];

    /// <summary>Explains why a name fails its pattern, naming the first offending character.</summary>
    public static string WhyInvalid(string value, Regex pattern)
    {
        if (value.Length == 0) return "it is empty";
        foreach (var c in value)
        {
            if (c > 0x7f) return $"it contains the non-ASCII character U+{(int)c:X4} '{c}' (a look-alike?)";
        }
        if (value.Contains('/') || value.Contains("..")) return "it contains a path separator or '..'";
        var shell = value.FirstOrDefault(c => ";&|$`<>(){}[]*?!~#'\"\\ \t\n".Contains(c));
        if (shell != default) return $"it contains the shell metacharacter '{shell}'";
        return $"it must match {pattern}";
    }
}

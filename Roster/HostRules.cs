using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Workstation.Roster;

/// <summary>
/// Renders host/lib/rules.sh: the roster engine's vocabulary as read-only bash constants, so
/// the host re-checks exactly what the engine checks and never retypes a name, pattern or
/// range. A test compares the committed file with this rendering byte for byte.
/// </summary>
public static class HostRules
{
    public const string RelativePath = "host/lib/rules.sh";

    /// <summary>Stands for the os_user in the unit and path patterns (a printf conversion).</summary>
    private const string UserSlot = "%s";

    public static string Render()
    {
        var sb = new StringBuilder();
        void Line(string s = "") => sb.Append(s).Append('\n');

        Line("# shellcheck shell=bash");
        Line("# rules.sh — the roster engine's rules for the host, generated from Roster/Rules.cs,");
        Line("# Roster/Derive.cs and Roster/HostCommands.cs by `dotnet run --project Roster -- host-rules`.");
        Line("# Do not edit: a test fails when this file and the C# disagree. Sourced by common.sh.");
        Line("# shellcheck disable=SC2034 # read by the files that source this one");
        Line();
        Line("# Patterns (bash ERE; the engine's, with '$' for the end).");
        Line($"readonly WS_RE_OS_USER={Sh(Bash(Rules.OsUser()))}");
        Line($"readonly WS_RE_ACCOUNT={Sh(Bash(Rules.AccountName()))}");
        Line($"readonly WS_RE_AUTHENTIK={Sh(Bash(Rules.AuthentikUser()))}");
        Line($"readonly WS_RE_SWAP_SIZE={Sh(Bash(Rules.SwapSize()))}");
        Line($"readonly WS_RE_HOST_PATH={Sh(Bash(Rules.HostPath()))}");
        Line($"readonly WS_RE_RESTIC_REPO={Sh(Bash(Rules.ResticRepository()))}");
        Line($"readonly WS_RE_ON_CALENDAR={Sh(Bash(Rules.OnCalendar()))}");
        Line($"readonly WS_RE_MEMORY_SIZE={Sh(Bash(Rules.MemorySize()))}");
        Line($"readonly WS_RE_TOOLS_MIRROR={Sh(Bash(Rules.ToolsMirror()))}");
        Line($"readonly WS_RE_NPM_PIN={Sh(Bash(Rules.NpmPin()))}");
        Line($"readonly WS_RE_CONFIG_BASE_REF={Sh(Bash(Rules.ConfigBaseRef()))}");
        Line($"readonly WS_RE_COMMIT_HASH={Sh(Bash(Rules.CommitHash()))}");
        Line($"readonly WS_RE_NODE_EXPORTER={Sh(Bash(Rules.NodeExporter()))}");
        Line($"readonly WS_RE_DNS1123_LABEL={Sh(Bash(Rules.Dns1123Label()))}");
        Line($"readonly WS_RE_DNS1123_SUBDOMAIN={Sh(Bash(Rules.Dns1123Subdomain()))}");
        Line($"readonly WS_NODE_EXPORTER_LOOPBACK={Sh(Rules.NodeExporterLoopback)}");
        Line($"readonly WS_RE_PORT={Sh(PortDigits)} WS_RE_UID={Sh(UidDigits)}");
        Line();
        Line("# Ranges.");
        Line($"readonly WS_MIN_PORT={Num(Rules.MinPort)} WS_MAX_PORT={Num(Rules.MaxPort)}");
        Line($"readonly WS_MIN_UID={Num(Rules.MinUid)} WS_MAX_UID={Num(Rules.MaxUid)}");
        Line($"readonly WS_SUBID_BASE={Rules.SubIdBase.ToString(CultureInfo.InvariantCulture)} WS_SUBID_COUNT={Rules.SubIdCount.ToString(CultureInfo.InvariantCulture)}");
        Line($"readonly WS_MIN_MEMORY={Budgets.MinMemory.ToString(CultureInfo.InvariantCulture)} WS_MAX_MEMORY={Budgets.MaxMemory.ToString(CultureInfo.InvariantCulture)}");
        Line($"readonly WS_MIN_CPU_WEIGHT={Num(Budgets.MinCpuWeight)} WS_MAX_CPU_WEIGHT={Num(Budgets.MaxCpuWeight)}");
        Line($"readonly WS_MIN_TASKS_MAX={Num(Budgets.MinTasksMax)} WS_MAX_TASKS_MAX={Num(Budgets.MaxTasksMax)}");
        Line($"readonly WS_MIN_SWAPPINESS={Num(Rules.MinSwappiness)} WS_MAX_SWAPPINESS={Num(Rules.MaxSwappiness)}");
        Line($"readonly WS_DEFAULT_BACKUP_MAX_FILE_SIZE={Sh(Rules.DefaultBackupMaxFileSize)}");
        Line($"readonly WS_MAX_RESTART_IDLE_MINUTES={Num(Rules.MaxRestartIdleMinutes)} WS_DEFAULT_RESTART_IDLE_MINUTES={Num(Rules.DefaultRestartIdleMinutes)}");
        Line($"readonly WS_MAX_DNS1123_SUBDOMAIN={Num(Rules.MaxDns1123Subdomain)}");
        Line();
        Line("# Bounds at the cut, in seconds.");
        Line($"readonly WS_UNIT_STOP_GRACE={Num(Rules.UnitStopGraceSeconds)} WS_UNSTAGE_TIMEOUT={Num(Rules.UnstageTimeoutSeconds)}");
        Line();
        Line("# Names: space-delimited lists, with a space at both ends for \" $name \" matching.");
        Line($"readonly WS_MARKER_GROUP={Sh(Rules.MarkerGroup)}");
        Line($"readonly WS_TIERS={Sh(Spaced(Enum.GetValues<Tier>().Select(t => t.ToYaml())))}");
        Line($"readonly WS_ADMIN_TIER={Sh(Tier.Admin.ToYaml())}");
        Line($"readonly WS_RESERVED_USERS={Sh(Spaced(Rules.ReservedUsers.Order(StringComparer.Ordinal)))}");
        Line($"readonly WS_RESERVED_GROUP_NAMES={Sh(Spaced(Rules.ReservedGroupNames))}");
        Line($"readonly WS_PRIVILEGED_GROUPS={Sh(Spaced(Rules.PrivilegedGroups.Order(StringComparer.Ordinal)))}");
        Line($"readonly WS_SHARED_CODE_GROUP={Sh(Rules.SharedCodeGroup)}");
        Line($"readonly WS_SECRETS={Sh(Spaced(SharedSecrets.All.Select(s => s.Name())))}");
        Line($"readonly WS_PERSONAL_SECRETS={Sh(Spaced(SharedSecrets.All.Where(s => s.IsPersonal()).Select(s => s.Name())))}");
        Line($"readonly WS_OIDC_GRANT_TYPES={Sh(Spaced(Kubelogin.All.Select(g => g.Name())))}");
        Line($"readonly WS_DEFAULT_OIDC_GRANT_TYPE={Sh(Kubelogin.DefaultGrantType.Name())}");
        Line($"readonly WS_KUBE_AUTHS={Sh(Spaced(Enum.GetValues<KubeAuth>().Select(a => a.ToYaml()).Order(StringComparer.Ordinal)))}");
        Line($"readonly WS_KUBE_TOKEN_PATH={Sh(SharedSecrets.KubeTokenPath)}");
        Line("# Where each secret lands: a file relative to the home, or an MCP server in ~/.claude.json.");
        Line("declare -grA WS_SECRET_FILE=(");
        foreach (var s in SharedSecrets.All) if (s.HomeFile() is { } file) Line($"  [{s.Name()}]={Sh(file)}");
        Line(")");
        Line("declare -grA WS_SECRET_MCP=(");
        foreach (var s in SharedSecrets.All) if (s.McpServer() is { } server) Line($"  [{s.Name()}]={Sh(server)}");
        Line(")");
        Line();
        Line("# Per-user names, as printf patterns of the os_user.");
        Line($"readonly WS_USER_UNITS={Sh(Spaced(Derivation.Services(UserSlot)))}");
        Line($"readonly WS_PLAYWRIGHT_ENV_FILE={Sh(Derivation.PlaywrightEnvFile(UserSlot))}");
        Line($"readonly WS_T3_ENV_FILE={Sh(Derivation.T3EnvFile(UserSlot))}");
        Line($"readonly WS_PLAYWRIGHT_UNIT={Sh(Derivation.PlaywrightUnit(UserSlot))} WS_T3_UNIT={Sh(Derivation.T3Unit(UserSlot))}");
        Line($"readonly WS_SNAPSHOT_TIMER={Sh(Derivation.SnapshotTimer(UserSlot))}");
        Line("# The variables the env files set, and the t3 command line when site.env has none (the shell expands the port).");
        Line($"readonly WS_PLAYWRIGHT_PORT_KEY={Sh(Derivation.PlaywrightPortKey)} WS_T3_PORT_KEY={Sh(Derivation.T3PortKey)}");
        Line("# shellcheck disable=SC2016 # the shell that runs the command expands it");
        Line($"readonly WS_DEFAULT_T3_COMMAND={Sh(HostCommands.DefaultT3Command)}");
        Line($"# The suspension record's fields (account.sh writes and reads it).");
        Line($"readonly WS_SUSPENSION_LOCK={Sh(SuspensionRecord.Lock)} WS_SUSPENSION_EXPIRE={Sh(SuspensionRecord.Expire)}");
        Line($"readonly WS_HOME={Sh($"/home/{UserSlot}")}");
        Line($"readonly WS_ROOT={Sh(HostCommands.InstallDir)}");
        Line();
        Line("# The base's shared files, \"PATH SOURCE MODE\" (SOURCE under WS_ROOT/base); the launcher is written only when owned,");
        Line("# the node_exporter drop-in only while the stack's nodeExporter is not off.");
        Line($"readonly WS_LAUNCHER={Sh(SharedFiles.Launcher)} WS_LAUNCHER_NAME={Sh(Path.GetFileName(SharedFiles.Launcher))}");
        Line($"readonly WS_NODE_EXPORTER_DROPIN={Sh(SharedFiles.NodeExporterDropIn)}");
        Line("readonly WS_BASE_SHARED=(");
        foreach (var f in SharedFiles.Base) Line($"  {Sh($"{f.Path} {f.Source} {f.Mode}")}");
        Line(")");
        Line($"readonly WS_UNIT_DIR={Sh(SharedFiles.UnitDir)}");
        Line("# The edge's maps (maps apply).");
        Line($"readonly WS_TTYD_MAP={Sh(SharedFiles.TtydMap)} WS_DISPATCH_DIR={Sh(SharedFiles.DispatchDir)} WS_DISPATCH_JSON={Sh(SharedFiles.DispatchJson)}");
        Line();
        Line("# What the base step's --inputs-sha256 covers, relative to WS_ROOT (folders: every file below).");
        Line($"readonly WS_BASE_INPUTS={Sh(Spaced(HostCommands.BaseInputs))}");
        Line();
        Line($"# The verbs whose line may end with {HostCommands.HostRevOption} HEX (the hash of the host code the step runs), '|'-delimited.");
        Line($"readonly WS_HOST_REV_VERBS={Sh("|" + string.Join('|', HostStep.All.Select(s => s.CreateVerb).OfType<string>()) + "|")}");
        return sb.ToString();
    }

    /// <summary>The pattern in bash's =~ dialect: .NET's \z end anchor becomes '$'.</summary>
    private static string Bash(Regex pattern)
    {
        var display = Rules.Display(pattern);
        // Only the constructs both dialects read the same way may pass through.
        if (display.Contains('\\', StringComparison.Ordinal) || display.Contains("(?", StringComparison.Ordinal))
            throw new InvalidOperationException($"pattern {display} uses syntax bash's ERE reads differently");
        return display;
    }

    /// <summary>A port's digits, in bash's ERE (the host checks the range after).</summary>
    public static string PortDigits => Digits(Rules.MinPort, Rules.MaxPort);

    /// <summary>A uid's digits, in bash's ERE (the host checks the range after).</summary>
    public static string UidDigits => Digits(Rules.MinUid, Rules.MaxUid);

    /// <summary>The digits of a number from min to max (both of at least two digits, no leading zero); the range is checked after.</summary>
    private static string Digits(int min, int max) =>
        $"^[1-9][0-9]{{{Num(min).Length - 1},{Num(max).Length - 1}}}$";

    private static string Spaced(IEnumerable<string> words) => " " + string.Join(' ', words) + " ";

    /// <summary>Single-quoted for bash (no value here contains a quote; refuse one rather than escape it).</summary>
    private static string Sh(string value) =>
        value.Contains('\'', StringComparison.Ordinal)
            ? throw new InvalidOperationException($"a rule value contains a quote: {value}")
            : $"'{value}'";

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);
}

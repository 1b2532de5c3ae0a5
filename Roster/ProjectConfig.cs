namespace Workstation.Roster;

/// <summary>A config type of Pulumi's project schema (pulumi/pulumi sdk/go/common/workspace/project.json, SimpleConfigType).</summary>
public enum ConfigType { String, Integer, Boolean, Array, Object }

/// <summary>
/// One key of the `workstation:` config namespace as Pulumi.yaml declares it.
/// <paramref name="Default"/> is the text the program reads when the stack does not set the key
/// (Pulumi merges the default into the stack config: a scalar as its text, an array or object as
/// JSON); null: no default, so Pulumi requires the stack to set it.
/// </summary>
public sealed record ConfigEntry(string Key, ConfigType Type, string? Default, bool Secret = false, ConfigType? Items = null)
{
    public bool Required => Default is null;
}

/// <summary>
/// The one key catalogue: every key Pulumi.yaml's `config:` block declares, with its type,
/// default and secretness. The section readers (Roster/StackSections, each key read by exactly
/// one: tests/Roster.Tests/StackSectionsTests) read their defaults from here, and
/// tests/Roster.Tests/ProjectConfigTests checks Pulumi.yaml against it key by key.
///
/// Pulumi's rule (pulumi/pulumi pkg/workspace/config.go, mergeConfig): a key declared with
/// neither `default` nor `value` that the stack does not set stops preview and up with "Stack 'X'
/// is missing configuration value(s) ...". So every optional key has a default here. A secret key
/// can't have one: the merged default is plaintext, and validateStackConfigValue then refuses it
/// ("must be encrypted as it's secret"); secret keys are therefore always required, and a stack
/// that has none sets them with `pulumi config set --secret KEY ''`.
/// </summary>
public static class ProjectConfig
{
    public const string Namespace = "workstation";

    /// <summary>Keys no longer declared: a stack that still sets one gets the program's hint to move it.</summary>
    public static readonly IReadOnlyList<string> Retired = ["snapshotToken"];

    private static ConfigEntry S(string key, string? @default) => new(key, ConfigType.String, @default);
    private static ConfigEntry I(string key, int? @default) =>
        new(key, ConfigType.Integer, @default?.ToString(System.Globalization.CultureInfo.InvariantCulture));
    private static ConfigEntry B(string key, bool @default) => new(key, ConfigType.Boolean, @default ? "true" : "false");
    private static ConfigEntry Secret(string key) => new(key, ConfigType.String, null, Secret: true);

    public static readonly IReadOnlyList<ConfigEntry> Entries =
    [
        S("roster", "roster.yaml"),
        S("sshHost", ""),
        I("sshPort", 22),
        S("sshUser", "root"),
        S("sshHostKey", ""),
        Secret("sshPrivateKey"),
        new("hosts", ConfigType.Array, "[]", Items: ConfigType.Object),
        S("repoUrl", null),
        S("oidcIssuer", null),
        S("oidcClientId", null),
        S("oidcGrantType", "device-code"),
        S("clusterName", null),
        S("clusterServer", null),
        S("vaultAddr", null),
        S("t3Command", HostCommands.DefaultT3Command),
        S("edgeUser", ""),
        S("snapshotUrl", ""),
        S("purgeArchiveDir", "/var/backups/workstation/homes"),
        S("backupRepository", ""),
        Secret("backupPassword"),
        I("backupKeepDaily", 7),
        I("backupKeepWeekly", 4),
        I("backupKeepMonthly", 6),
        S("backupOnCalendar", "daily"),
        S("swapSize", ""),
        S("swappiness", ""),
        S("toolsMirror", ""),
        B("pinnedTools", true),
        B("ownLauncher", true),
        S("nodeExporter", "loopback"),
        S("configBaseUrl", ""),
        S("configBaseRef", "main"),
        B("configBaseHooks", false),
        S("t3Package", ""),
        new("takeOver", ConfigType.Array, "[]", Items: ConfigType.String),
        S("claudeCodePolicy", "pinned"),
        S("hostMemory", ""),
        S("memoryReserve", "2G"),
        S("capacityWarnPercent", "85"),
        I("restartIdleMinutes", Rules.DefaultRestartIdleMinutes),
        new("vaultSecrets", ConfigType.Object, "{}"),
        new("rotate", ConfigType.Object, "{}"),
        S("memoryMcpUrl", ""),
        Secret("kubeconfig"),
        S("kubeContext", ""),
        Secret("vaultToken"),
        S("vaultKvMount", "secret"),
        S("vaultUsersPath", "users"),
        S("vaultOidcMount", "oidc"),
        S("vaultOidcMountAccessor", ""),
        S("vaultOidcUserClaim", "preferred_username"),
        B("enableKubernetes", true),
        B("enableVault", true),
        B("enableAuthentik", true),
        S("authentikUrl", null),
        Secret("authentikToken"),
        S("authentikT3AppSlug", null),
    ];

    private static readonly Dictionary<string, ConfigEntry> ByKey = Entries.ToDictionary(e => e.Key, StringComparer.Ordinal);

    /// <summary>The declared entry, or null for a key Pulumi.yaml does not declare.</summary>
    public static ConfigEntry? Find(string key) => ByKey.GetValueOrDefault(key);

    /// <summary>What Pulumi hands the program for an unset key: its default, or null (required, or undeclared).</summary>
    public static string? DefaultOf(string key) => Find(key)?.Default;

    /// <summary>The keys Pulumi requires every stack to set (no default).</summary>
    public static IEnumerable<string> RequiredKeys => Entries.Where(e => e.Required).Select(e => e.Key);
}

using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pulumi;
using Workstation.Roster;
using Workstation.Roster.Access;

namespace Workstation.Components;

/// <summary>Where the stack's configuration comes from: Pulumi config in a deployment, a dictionary in tests.</summary>
public interface IStackConfig
{
    /// <summary>The plain value, or null when unset (also used for secrets, to tell unset from set).</summary>
    string? Get(string key);

    /// <summary>The value as a secret output, or null when unset.</summary>
    Output<string>? GetSecret(string key);
}

/// <summary>Reads the project's config namespace (`workstation:`).</summary>
public sealed class PulumiStackConfig(Config config) : IStackConfig
{
    public string? Get(string key) => config.Get(key);

    public Output<string>? GetSecret(string key) => config.GetSecret(key);
}

/// <summary>
/// Reads a stack's config as Pulumi hands it to the program: a key the stack does not set reads as
/// its Pulumi.yaml default (pulumi/pulumi pkg/workspace/config.go, mergeConfig, merges it in), from
/// the one key catalogue <see cref="ProjectConfig"/>. So a run without Pulumi's merge (the test
/// mocks) reads the same values as a deployment. Secret keys have no default.
/// </summary>
public sealed class WithProjectDefaults(IStackConfig config) : IStackConfig
{
    public string? Get(string key) => config.Get(key) ?? ProjectConfig.DefaultOf(key);

    public Output<string>? GetSecret(string key) => config.GetSecret(key);
}

/// <summary>The config keys, as declared in Pulumi.yaml (Roster/ProjectConfig.cs is their catalogue: types, defaults, secretness).</summary>
public static class ConfigKeys
{
    public const string Project = "workstation";
    public const string Roster = "roster";
    public const string SshHost = "sshHost";
    public const string SshPort = "sshPort";
    public const string SshUser = "sshUser";
    public const string SshHostKey = "sshHostKey";
    public const string SshPrivateKey = "sshPrivateKey";
    public const string RepoUrl = "repoUrl";
    public const string OidcIssuer = "oidcIssuer";
    public const string OidcClientId = "oidcClientId";
    public const string ClusterName = "clusterName";
    public const string ClusterServer = "clusterServer";
    public const string VaultAddr = "vaultAddr";
    public const string T3Command = "t3Command";
    public const string EdgeUser = "edgeUser";
    public const string SnapshotUrl = "snapshotUrl";
    public const string RestartIdleMinutes = "restartIdleMinutes";
    public const string SwapSize = HostCapacity.Keys.SwapSize;
    public const string Swappiness = "swappiness";
    public const string ToolsMirror = "toolsMirror";
    public const string PinnedTools = "pinnedTools";
    public const string OwnLauncher = "ownLauncher";
    public const string NodeExporter = "nodeExporter";
    public const string ConfigBaseUrl = "configBaseUrl";
    public const string ConfigBaseRef = "configBaseRef";
    public const string ConfigBaseHooks = "configBaseHooks";
    public const string ClaudeCodePolicy = "claudeCodePolicy";
    public const string TakeOver = "takeOver";
    public const string T3Package = "t3Package";
    public const string HostMemory = HostCapacity.Keys.HostMemory;
    public const string MemoryReserve = HostCapacity.Keys.MemoryReserve;
    public const string CapacityWarnPercent = HostCapacity.Keys.WarnPercent;
    public const string PurgeArchiveDir = "purgeArchiveDir";
    public const string BackupRepository = "backupRepository";
    public const string BackupPassword = "backupPassword";
    public const string BackupKeepDaily = "backupKeepDaily";
    public const string BackupKeepWeekly = "backupKeepWeekly";
    public const string BackupKeepMonthly = "backupKeepMonthly";
    public const string BackupOnCalendar = "backupOnCalendar";
    /// <summary>
    /// Retired (<see cref="ProjectConfig.Retired"/>): no longer declared in Pulumi.yaml, so no stack
    /// needs it; a stack that still sets it gets the error that says where it moved.
    /// </summary>
    public const string SnapshotToken = "snapshotToken";
    public const string VaultSecrets = "vaultSecrets";
    public const string Rotate = "rotate";
    public const string MemoryMcpUrl = "memoryMcpUrl";
    public const string Kubeconfig = "kubeconfig";
    public const string KubeContext = "kubeContext";
    public const string VaultToken = "vaultToken";
    public const string VaultKvMount = "vaultKvMount";
    public const string VaultUsersPath = "vaultUsersPath";
    public const string VaultOidcMount = "vaultOidcMount";
    public const string VaultOidcMountAccessor = "vaultOidcMountAccessor";
    public const string VaultOidcUserClaim = VaultUserClaims.ConfigKey;
    public const string EnableKubernetes = "enableKubernetes";
    public const string EnableVault = "enableVault";
    public const string EnableAuthentik = "enableAuthentik";
    public const string AuthentikUrl = "authentikUrl";
    public const string AuthentikToken = "authentikToken";
    public const string AuthentikT3AppSlug = "authentikT3AppSlug";
    public const string OidcGrantType = Kubelogin.GrantTypeKey;

    public static string Full(string key) => $"{Project}:{key}";
}

/// <summary>One problem in the stack configuration, named by its full key.</summary>
public sealed record ConfigError(string Key, string Message)
{
    public override string ToString() => $"{ConfigKeys.Full(Key)}: {Message}";
}

/// <summary>How the program reaches the devvm. The private key never leaves a secret output.</summary>
public sealed record SshTarget(string Host, int Port, string User, string HostKey, Output<string> PrivateKey);

/// <param name="Kubeconfig">Kubeconfig contents (secret); null: the ambient one (KUBECONFIG or ~/.kube/config of whoever runs pulumi).</param>
/// <param name="Context">The kubeconfig context; null: its current context.</param>
public sealed record K8sSettings(Output<string>? Kubeconfig, string? Context);

/// <param name="Address">Vault's address (the same `vaultAddr` the host writes for the users).</param>
/// <param name="Token">The token the provider uses (secret); null: the provider reads VAULT_TOKEN from the environment.</param>
/// <param name="Options">KV mount, users path and OIDC mount path (the policy's root and the aliases' mount).</param>
/// <param name="OidcMountAccessor">The OIDC mount's accessor; null: looked up by <see cref="VaultOptions.OidcMountPath"/>.</param>
public sealed record VaultSettings(string Address, Output<string>? Token, VaultOptions Options, string? OidcMountAccessor);

/// <param name="T3AppSlug">The slug of the Authentik application the edge policy is bound to.</param>
public sealed record AuthentikSettings(string Url, Output<string> Token, string T3AppSlug);

/// <summary>The shared secrets: where each is in Vault, its rotation serial, and the claude_memory server.</summary>
/// <param name="Fields">Secret → its Vault field (vaultSecrets); a secret not listed is staged to no one.</param>
/// <param name="Rotate">Secret → serial (rotate); raising one rewrites that secret for every holder. Unlisted: 0.</param>
/// <param name="MemoryMcpUrl">The claude_memory MCP server's URL (memoryMcpUrl), set exactly when memory-key is staged.</param>
public sealed record SecretSettings(IReadOnlyDictionary<SharedSecret, VaultField> Fields, IReadOnlyDictionary<SharedSecret, int> Rotate, string? MemoryMcpUrl)
{
    public static SecretSettings None { get; } = new(new Dictionary<SharedSecret, VaultField>(), new Dictionary<SharedSecret, int>(), null);
}

/// <summary>Everything the program needs besides the roster.</summary>
/// <param name="SwapSize">The managed swap file's size (e.g. 8G), created or resized by the base step; null: none.</param>
/// <param name="Swappiness">vm.swappiness, set by the base step; null: the kernel's.</param>
/// <param name="Capacity">The host's memory, swap and reserve for the ceiling check; null: hostMemory unset, not checked.</param>
/// <param name="ToolsMirror">Where the base step fetches the pinned tools instead of upstream; null: upstream.</param>
/// <param name="PinnedTools">false: the base step installs no pinned tool (no route to upstream or a mirror).</param>
/// <param name="OwnLauncher">false: another deployer owns /etc/skel/start-claude.sh; the base leaves it alone.</param>
/// <param name="NodeExporter">Where node_exporter listens: off or ADDRESS:PORT; null: loopback (the default).</param>
/// <param name="ConfigBase">The config base's git URL and ref; null: none.</param>
/// <param name="ClaudeCodeIfMissing">claudeCodePolicy if-missing: a Claude Code already installed keeps its version.</param>
/// <param name="T3Package">The t3 server's npm package pinned to one version (NAME@X.Y.Z), installed by the base step; null: not installed by Workstation.</param>
/// <param name="ConfigBaseHooks">configBaseHooks: the config base's hooks are merged even when configBaseRef is a branch or tag; false: only from a commit pinned by hash.</param>
/// <param name="TakeOver">Shared files (base files, unit templates) the workstation owns even where a hand-made setup wrote them; none: such a file is refused.</param>
/// <param name="PurgeArchiveDir">Where a purge archives a home on the devvm (root's, 0700).</param>
/// <param name="Backup">restic backups of /home; null: none (backupRepository unset).</param>
/// <param name="BackupPassword">The repository password (secret), set exactly when Backup is.</param>
/// <param name="K8s">The cluster layer; null when the stack switches it off (enableKubernetes: false).</param>
/// <param name="Vault">The Vault layer; null when switched off (enableVault: false).</param>
/// <param name="Authentik">The edge layer; null when switched off (enableAuthentik: false).</param>
/// <param name="Secrets">The shared secrets the secrets steps stage, from Vault; none when vaultSecrets is unset.</param>
public sealed partial record StackSettings(
    string RosterPath,
    string HostDir,
    SshTarget Ssh,
    SiteSettings Site,
    string? SwapSize,
    string PurgeArchiveDir,
    BackupSettings? Backup,
    Output<string>? BackupPassword,
    SecretSettings Secrets,
    K8sSettings? K8s,
    VaultSettings? Vault,
    AuthentikSettings? Authentik,
    int? Swappiness = null,
    HostCapacity? Capacity = null,
    string? ToolsMirror = null,
    bool PinnedTools = true,
    bool OwnLauncher = true,
    (string Url, string Ref)? ConfigBase = null,
    bool ClaudeCodeIfMissing = false,
    IReadOnlyList<SharedFiles.Target>? TakeOver = null,
    string? T3Package = null,
    bool ConfigBaseHooks = false,
    string? NodeExporter = null)
{
    // The catalogue's defaults (Roster/ProjectConfig.cs) as typed values: Load reads an unset key
    // as its catalogue default already; tests/Workstation.Tests/ProjectFileTests keeps these equal.
    public const string DefaultRosterPath = "roster.yaml";
    public const int DefaultSshPort = 22;
    public const string DefaultSshUser = "root";
    public const string DefaultHostDir = "host";
    public const string DefaultPurgeArchiveDir = "/var/backups/workstation/homes";
    /// <summary>edgeUser's explicit "no edge account": t3 ports admit their owner only.</summary>
    public const string NoEdgeUser = StackValues.NoEdgeUser;
    public static readonly BackupSettings DefaultBackup = new("", 7, 4, 6, "daily");

    /// <summary>Reads and checks every key; returns all problems at once.</summary>
    public static (StackSettings? Settings, IReadOnlyList<ConfigError> Errors) Load(IStackConfig stackConfig)
    {
        var config = new WithProjectDefaults(stackConfig);
        var errors = new List<ConfigError>();
        string Required(string key, string what)
        {
            var value = config.Get(key);
            if (string.IsNullOrWhiteSpace(value))
            {
                errors.Add(new ConfigError(key, $"required: {what}; set it with `pulumi config set {key} VALUE`"));
                return "";
            }
            if (value.Any(char.IsControl))
                errors.Add(new ConfigError(key, "must be one line without control characters"));
            return value.Trim();
        }
        string Url(string key, string what)
        {
            var value = Required(key, what);
            if (value.Length > 0 && !(Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http"))
                errors.Add(new ConfigError(key, $"'{value}' is not an absolute http(s) URL"));
            else NoCredentials(key, value);
            return value;
        }
        // These values go into the `site apply` command line, so into plaintext state and the
        // host's logs: a URL must not carry a password or token. The value is not echoed.
        void NoCredentials(string key, string value)
        {
            if (CarriesCredentials(value))
                errors.Add(new ConfigError(key, "must not carry credentials (user:password@ or an http(s) user part): " +
                    "it ends up in a command line and in plaintext state; give the host its own credentials instead"));
        }
        // Optional one-word values; unset or '' mean "not set". Pattern-checked, as they end up in paths and lookups.
        string? Word(string key, Regex pattern, string what)
        {
            var (value, error) = StackValues.Word(config.Get(key), pattern, what);
            if (error is not null) errors.Add(new ConfigError(key, error));
            return value;
        }
        // A secret that may be '' (meaning "none"): never echoed in an error.
        Output<string>? OptionalSecret(string key) => string.IsNullOrEmpty(config.Get(key)) ? null : config.GetSecret(key);

        var host = Required(ConfigKeys.SshHost, "the devvm's SSH address");
        if (host.Any(char.IsWhiteSpace)) errors.Add(new ConfigError(ConfigKeys.SshHost, $"'{host}' contains whitespace"));

        var port = DefaultSshPort;
        if (config.Get(ConfigKeys.SshPort) is { } portText &&
            !(int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535))
            errors.Add(new ConfigError(ConfigKeys.SshPort, $"'{portText}' is not a TCP port (1-65535)"));

        var user = config.Get(ConfigKeys.SshUser) ?? DefaultSshUser;
        if (!Rules.AccountName().IsMatch(user))
            errors.Add(new ConfigError(ConfigKeys.SshUser, $"'{user}' is not a valid user name"));

        // Without a pinned key the Command provider accepts whatever key the host presents.
        var hostKey = config.Get(ConfigKeys.SshHostKey)?.Trim();
        if (string.IsNullOrEmpty(hostKey))
            errors.Add(new ConfigError(ConfigKeys.SshHostKey,
                "required: the devvm's pinned SSH host public key, e.g. 'ssh-ed25519 AAAA...' (without it any host key is accepted); " +
                $"set it with `pulumi config set {ConfigKeys.SshHostKey} \"$(ssh-keyscan -t ed25519 HOST | cut -d' ' -f2-)\"`"));
        else if (!HostKeyPattern().IsMatch(hostKey))
            errors.Add(new ConfigError(ConfigKeys.SshHostKey, "must be one public key line 'TYPE BASE64' (as in known_hosts without the host name), e.g. 'ssh-ed25519 AAAA...'"));

        var privateKey = config.GetSecret(ConfigKeys.SshPrivateKey);
        if (string.IsNullOrWhiteSpace(config.Get(ConfigKeys.SshPrivateKey)) || privateKey is null)
            errors.Add(new ConfigError(ConfigKeys.SshPrivateKey,
                $"required: the SSH private key, as a secret: `pulumi config set --secret {ConfigKeys.SshPrivateKey} < KEYFILE`"));

        // Set to '' on purpose (a stack with no repository, e.g. the sandbox): ~/code is not cloned.
        var repoUrl = config.Get(ConfigKeys.RepoUrl) == "" ? "" : Required(ConfigKeys.RepoUrl, "the git URL cloned into each ~/code (or '' for none)");
        NoCredentials(ConfigKeys.RepoUrl, repoUrl);
        var site = new SiteSettings(
            repoUrl,
            Url(ConfigKeys.OidcIssuer, "the OIDC issuer URL for kubeconfigs"),
            Required(ConfigKeys.OidcClientId, "the OIDC client id for kubeconfigs"),
            Required(ConfigKeys.ClusterName, "the Kubernetes cluster name for kubeconfigs"),
            Url(ConfigKeys.ClusterServer, "the Kubernetes API server URL"),
            Url(ConfigKeys.VaultAddr, "the Vault address written to ~/.zshrc.d/vault.sh"),
            Required(ConfigKeys.T3Command, "the command line t3-serve runs"),
            EdgeUser(),
            SnapshotUrl(),
            RestartIdleMinutes(),
            OidcGrant());

        // Unset: the headless default (device-code); see Roster/Kubelogin.cs.
        OidcGrantType OidcGrant()
        {
            if (config.Get(ConfigKeys.OidcGrantType) is not { Length: > 0 } text) return Kubelogin.DefaultGrantType;
            if (Kubelogin.Parse(text) is { } grant) return grant;
            errors.Add(new ConfigError(ConfigKeys.OidcGrantType, StackValues.NotA(text, string.Join(" or ", Kubelogin.All.Select(g => g.Name())))));
            return Kubelogin.DefaultGrantType;
        }

        // Backups: off unless backupRepository is set; then the password is required, as a secret.
        (BackupSettings?, Output<string>?) Backup()
        {
            var repository = Word(ConfigKeys.BackupRepository, Rules.ResticRepository(),
                "a restic repository: an absolute path or a restic URL (sftp:, rest:, s3:, b2:, azure:, gs:, rclone:)");
            int Keep(string key, int fallback)
            {
                var text = config.Get(key);
                if (string.IsNullOrEmpty(text)) return fallback;
                if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= 9999) return n;
                errors.Add(new ConfigError(key, StackValues.NotA(text, "a count (0-9999)")));
                return fallback;
            }
            var d = DefaultBackup;
            var settings = new BackupSettings(repository ?? "", Keep(ConfigKeys.BackupKeepDaily, d.KeepDaily), Keep(ConfigKeys.BackupKeepWeekly, d.KeepWeekly),
                Keep(ConfigKeys.BackupKeepMonthly, d.KeepMonthly),
                Word(ConfigKeys.BackupOnCalendar, Rules.OnCalendar(), "a systemd calendar expression (e.g. daily, *-*-* 03:00:00)") ?? d.OnCalendar);
            if (settings.KeepDaily + settings.KeepWeekly + settings.KeepMonthly == 0)
                errors.Add(new ConfigError(ConfigKeys.BackupKeepDaily, "a retention that keeps nothing: set backupKeepDaily, backupKeepWeekly or backupKeepMonthly above 0"));
            if (repository is null) return (null, null);
            NoCredentials(ConfigKeys.BackupRepository, repository);
            var password = OptionalSecret(ConfigKeys.BackupPassword);
            if (password is null)
                errors.Add(new ConfigError(ConfigKeys.BackupPassword,
                    $"required with {ConfigKeys.Full(ConfigKeys.BackupRepository)}: the restic repository password, as a secret: `pulumi config set --secret {ConfigKeys.BackupPassword} ...`"));
            return (settings, password);
        }

        // The default (20 minutes) is also the host's own: the site command then leaves the flag
        // out, so its string, and every host step's, is what it was before the key had a default.
        int? RestartIdleMinutes()
        {
            if (config.Get(ConfigKeys.RestartIdleMinutes) is not { Length: > 0 } text) return null;
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= Rules.MaxRestartIdleMinutes)
                return n == Rules.DefaultRestartIdleMinutes ? null : n;
            errors.Add(new ConfigError(ConfigKeys.RestartIdleMinutes, StackValues.NotA(text, $"a number of minutes (0-{Rules.MaxRestartIdleMinutes})")));
            return null;
        }

        // Unset or '' means none: the refresh timer then does nothing.
        string? SnapshotUrl() => config.Get(ConfigKeys.SnapshotUrl) is { Length: > 0 } ? Url(ConfigKeys.SnapshotUrl, "the snapshot URL") : null;

        var swapSize = Word(ConfigKeys.SwapSize, Rules.SwapSize(), "a swap size like 8G or 512M");
        int? swappiness = null;
        if (config.Get(ConfigKeys.Swappiness) is { Length: > 0 } sw)
        {
            if (int.TryParse(sw, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= Rules.MinSwappiness && n <= Rules.MaxSwappiness) swappiness = n;
            else errors.Add(new ConfigError(ConfigKeys.Swappiness, StackValues.NotA(sw, $"a swappiness ({Rules.MinSwappiness}-{Rules.MaxSwappiness})")));
        }
        (string, string)? ConfigBase()
        {
            if (config.Get(ConfigKeys.ConfigBaseUrl) is not { Length: > 0 } url) return null;
            if (url.Any(char.IsControl) || url.Any(char.IsWhiteSpace))
                errors.Add(new ConfigError(ConfigKeys.ConfigBaseUrl, "must be one git URL or path, without whitespace"));
            NoCredentials(ConfigKeys.ConfigBaseUrl, url);
            var gitRef = Word(ConfigKeys.ConfigBaseRef, Rules.ConfigBaseRef(), "a branch, tag or commit of the config base") ?? "main";
            return (url, gitRef);
        }
        var configBase = ConfigBase();
        // loopback is the host's default: no flag, so the base step's command is what it was before the key.
        var nodeExporter = config.Get(ConfigKeys.NodeExporter) is { Length: > 0 } ne ? ne : "loopback";
        if (!Rules.NodeExporter().IsMatch(nodeExporter))
            errors.Add(new ConfigError(ConfigKeys.NodeExporter, StackValues.NotA(nodeExporter, "loopback, off, or a listen address ADDRESS:PORT (IPv4, e.g. 10.0.0.5:9100)")));
        var claudePolicy = config.Get(ConfigKeys.ClaudeCodePolicy) is { Length: > 0 } cp ? cp : "pinned";
        if (claudePolicy is not ("pinned" or "if-missing"))
            errors.Add(new ConfigError(ConfigKeys.ClaudeCodePolicy, StackValues.NotA(claudePolicy, "pinned or if-missing")));
        // A list of paths (`pulumi config set --path 'takeOver[0]' PATH`); each must be a file Workstation writes.
        List<SharedFiles.Target> TakeOver()
        {
            var targets = new List<SharedFiles.Target>();
            if (config.Get(ConfigKeys.TakeOver) is not { Length: > 0 } text) return targets;
            List<string?>? paths = null;
            try
            {
                paths = JsonSerializer.Deserialize<List<string?>>(text);
            }
            catch (JsonException)
            {
                // reported below
            }
            if (paths is null)
            {
                errors.Add(new ConfigError(ConfigKeys.TakeOver, "is not a list of paths (set its entries with `pulumi config set --path 'takeOver[0]' /etc/...`)"));
                return targets;
            }
            for (var i = 0; i < paths.Count; i++)
            {
                var (target, why) = SharedFiles.ParseTarget(paths[i] ?? "", Enabled(ConfigKeys.OwnLauncher));
                if (target is null) errors.Add(new ConfigError($"{ConfigKeys.TakeOver}[{i}]", $"'{StackValues.Printable(paths[i] ?? "")}' {why}"));
                else if (targets.Any(t => t.Path == target.Path)) errors.Add(new ConfigError($"{ConfigKeys.TakeOver}[{i}]", $"'{target.Path}' is listed twice"));
                else targets.Add(target);
            }
            return targets;
        }
        var takeOver = TakeOver();
        if (nodeExporter == "off" && takeOver.Any(t => t.Path == SharedFiles.NodeExporterDropIn))
            errors.Add(new ConfigError(ConfigKeys.TakeOver, $"'{SharedFiles.NodeExporterDropIn}' is node_exporter's drop-in, which nodeExporter: off leaves alone"));
        var t3Package = Word(ConfigKeys.T3Package, Rules.NpmPin(), "an npm package pinned to one version, NAME@X.Y.Z (never @latest, a tag or a range)");
        var toolsMirror = Word(ConfigKeys.ToolsMirror, Rules.ToolsMirror(), "an http(s) URL or an absolute folder on the devvm (e.g. https://mirror.example/tools)");
        // The swap size's own error is reported above; the capacity keys report theirs here.
        var (capacity, capacityErrors) = HostCapacity.FromConfig(k => k == ConfigKeys.SwapSize && swapSize is null ? null : config.Get(k));
        errors.AddRange(capacityErrors.Select(e => new ConfigError(e.Key, e.Message)));
        var (backup, backupPassword) = Backup();
        var purgeArchiveDir = Word(ConfigKeys.PurgeArchiveDir, Rules.HostPath(), "an absolute path on the devvm (no component starting with a dot)")
            ?? DefaultPurgeArchiveDir;

        // `none` (said on purpose) or unset/'' means no edge account: t3 ports then admit their owner only.
        // With the edge layer on, unset is refused (§1 of issue 24): the first services step would cut
        // the dispatcher off from every person's t3, the admin's included.
        string? EdgeUser()
        {
            var edge = config.Get(ConfigKeys.EdgeUser);
            if (edge == NoEdgeUser) return null;
            if (edge is not { Length: > 0 })
            {
                if (StackValues.Switch(config.Get(ConfigKeys.EnableAuthentik)).On)
                    errors.Add(new ConfigError(ConfigKeys.EdgeUser,
                        "required with Authentik on: the account the t3 dispatcher runs as (besides their owner, the only one the firewall lets " +
                        "connect to a t3 port; unset, the first up cuts it off from every person). `workstation adopt plan` on the devvm prints it: " +
                        $"`pulumi config set {ConfigKeys.EdgeUser} NAME`, or `{NoEdgeUser}` on purpose"));
                return null;
            }
            if (Rules.AccountName().IsMatch(edge)) return edge;
            errors.Add(new ConfigError(ConfigKeys.EdgeUser, $"'{edge}' is not a valid account name: {Rules.WhyInvalid(edge, Rules.AccountName())}"));
            return null;
        }

        // The token was once a config copy of a Vault value; now Vault is read directly. Retired:
        // Pulumi.yaml no longer declares it, but a stack that still sets it is told where it moved.
        if (!string.IsNullOrEmpty(config.Get(ConfigKeys.SnapshotToken)))
            errors.Add(new ConfigError(ConfigKeys.SnapshotToken,
                "is no longer read: the snapshot token comes from Vault. Name its field with " +
                $"`pulumi config set --path '{ConfigKeys.VaultSecrets}[\"snapshot-token\"]' PATH#FIELD`, then `pulumi config rm {ConfigKeys.SnapshotToken}`"));

        var rosterPath = config.Get(ConfigKeys.Roster) is { Length: > 0 } r ? r : DefaultRosterPath;

        // Each outside system can be switched off per stack (a one-machine stack has only the host).
        bool Enabled(string key)
        {
            var (on, error) = StackValues.Switch(config.Get(key));
            if (error is not null) errors.Add(new ConfigError(key, error));
            return on;
        }
        var (withK8s, withVault, withAuthentik) = (Enabled(ConfigKeys.EnableKubernetes), Enabled(ConfigKeys.EnableVault), Enabled(ConfigKeys.EnableAuthentik));

        var k8s = !withK8s ? null : new K8sSettings(
            OptionalSecret(ConfigKeys.Kubeconfig),
            Word(ConfigKeys.KubeContext, StackValues.KubeContext(), "a kubeconfig context name (one word, no whitespace)"));

        var defaults = VaultOptions.Default;
        var (userClaim, claimError) = withVault ? VaultUserClaims.Parse(config.Get(ConfigKeys.VaultOidcUserClaim)) : (defaults.UserClaim, null);
        if (claimError is not null) errors.Add(new ConfigError(ConfigKeys.VaultOidcUserClaim, claimError));
        var vaultOptions = new VaultOptions(
            Word(ConfigKeys.VaultKvMount, StackValues.VaultPath(), "a plain Vault mount path (e.g. secret)") ?? defaults.KvMount,
            Word(ConfigKeys.VaultUsersPath, StackValues.VaultPath(), "a plain Vault path (e.g. users)") ?? defaults.UsersPath,
            Word(ConfigKeys.VaultOidcMount, StackValues.VaultPath(), StackValues.VaultOidcMountForm) ?? defaults.OidcMountPath,
            userClaim);
        try
        {
            // The policy builder has the last word on what may become the policy's root.
            VaultAccess.Grants("check", vaultOptions);
        }
        catch (ArgumentException e)
        {
            errors.Add(new ConfigError(ConfigKeys.VaultKvMount, e.Message));
        }
        var vault = !withVault ? null : new VaultSettings(
            site.VaultAddr,
            OptionalSecret(ConfigKeys.VaultToken),
            vaultOptions,
            Word(ConfigKeys.VaultOidcMountAccessor, StackValues.VaultAccessor(), StackValues.VaultAccessorForm));

        AuthentikSettings? Authentik()
        {
            var authentikUrl = Url(ConfigKeys.AuthentikUrl, "the Authentik URL the provider talks to");
            var authentikToken = config.GetSecret(ConfigKeys.AuthentikToken);
            if (string.IsNullOrWhiteSpace(config.Get(ConfigKeys.AuthentikToken)) || authentikToken is null)
                errors.Add(new ConfigError(ConfigKeys.AuthentikToken,
                    $"required: an Authentik API token, as a secret: `pulumi config set --secret {ConfigKeys.AuthentikToken} TOKEN`"));
            var slug = Required(ConfigKeys.AuthentikT3AppSlug, "the slug of the t3 application in Authentik");
            if (slug.Length > 0 && !StackValues.AuthentikSlug().IsMatch(slug))
                errors.Add(new ConfigError(ConfigKeys.AuthentikT3AppSlug, StackValues.NotA(slug, StackValues.AuthentikSlugForm)));
            return authentikToken is null ? null : new AuthentikSettings(authentikUrl, authentikToken, slug);
        }
        var authentik = withAuthentik ? Authentik() : null;
        var secrets = Secrets(withVault);

        // vaultSecrets: {NAME: "PATH#FIELD"}; rotate: {NAME: SERIAL}. Only names and numbers, never values.
        SecretSettings Secrets(bool vaultOn)
        {
            var fields = new Dictionary<SharedSecret, VaultField>();
            foreach (var (name, value) in JsonObject(ConfigKeys.VaultSecrets))
            {
                if (Known(ConfigKeys.VaultSecrets, name) is not { } secret) continue;
                if (secret.IsPersonal())
                {
                    errors.Add(new ConfigError($"{ConfigKeys.VaultSecrets}[\"{name}\"]",
                        $"is per person, not shared: it is read from each person's own Vault path ({ConfigKeys.VaultKvMount}/{ConfigKeys.VaultUsersPath}/OS_USER#{SharedSecrets.KubeTokenField}) for whoever the roster gives kube_auth: service-account-token"));
                    continue;
                }
                if (value.ValueKind == JsonValueKind.String && VaultFieldPattern().Match(value.GetString()!) is { Success: true } m)
                    fields[secret] = new VaultField(m.Groups[1].Value, m.Groups[2].Value);
                else
                    errors.Add(new ConfigError($"{ConfigKeys.VaultSecrets}[\"{name}\"]", "is not PATH#FIELD: a KV v2 secret under vaultKvMount and one of its fields (e.g. openclaw#ha_sofia_mcp_url)"));
            }
            var rotate = new Dictionary<SharedSecret, int>();
            foreach (var (name, value) in JsonObject(ConfigKeys.Rotate))
            {
                if (Known(ConfigKeys.Rotate, name) is not { } secret) continue;
                if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) && n is >= 0 and <= Rules.MaxRotationSerial) rotate[secret] = n;
                else errors.Add(new ConfigError($"{ConfigKeys.Rotate}[\"{name}\"]", $"is not a rotation serial (a whole number, 0-{Rules.MaxRotationSerial})"));
            }
            if (fields.Count > 0 && !vaultOn)
                errors.Add(new ConfigError(ConfigKeys.VaultSecrets, $"needs Vault: the secrets are read from it, and {ConfigKeys.Full(ConfigKeys.EnableVault)} is false"));
            string? memoryUrl = null;
            if (fields.ContainsKey(SharedSecret.MemoryKey))
                memoryUrl = Url(ConfigKeys.MemoryMcpUrl, "the claude_memory MCP server's URL (its key comes from Vault)");
            else if (config.Get(ConfigKeys.MemoryMcpUrl) is { Length: > 0 })
                errors.Add(new ConfigError(ConfigKeys.MemoryMcpUrl, $"is set, but {ConfigKeys.Full(ConfigKeys.VaultSecrets)} names no memory-key: the server would have no key"));
            return new SecretSettings(fields, rotate, memoryUrl);
        }
        IEnumerable<(string Name, JsonElement Value)> JsonObject(string key)
        {
            if (config.Get(key) is not { Length: > 0 } text) return [];
            try
            {
                using var doc = JsonDocument.Parse(text);
                if (doc.RootElement.ValueKind == JsonValueKind.Object)
                    return doc.RootElement.EnumerateObject().Select(p => (p.Name, p.Value.Clone())).ToList();
            }
            catch (JsonException)
            {
                // reported below
            }
            errors.Add(new ConfigError(key, "is not an object of secret names (set its entries with `pulumi config set --path`)"));
            return [];
        }
        SharedSecret? Known(string key, string name)
        {
            if (SharedSecrets.Parse(name) is { } s) return s;
            // The shared ones are listed: a per-person secret is never a vaultSecrets key (rotate takes it too).
            errors.Add(new ConfigError($"{key}[\"{StackValues.Printable(name)}\"]", $"is not a shared secret: known are {string.Join(", ", SharedSecrets.All.Where(x => !x.IsPersonal()).Select(x => x.Name()))}"));
            return null;
        }

        // Off unless set: hooks from a moving ref run code as everyone, so allowing them is explicit.
        var configBaseHooks = config.Get(ConfigKeys.ConfigBaseHooks) is { Length: > 0 } && Enabled(ConfigKeys.ConfigBaseHooks);

        if (errors.Count > 0) return (null, errors);
        return (new StackSettings(rosterPath, DefaultHostDir, new SshTarget(host, port, user, hostKey!, privateKey!), site, swapSize, purgeArchiveDir, backup, backupPassword, secrets,
            k8s, vault, authentik, swappiness, capacity, toolsMirror, Enabled(ConfigKeys.PinnedTools), Enabled(ConfigKeys.OwnLauncher), configBase, claudePolicy == "if-missing", takeOver, t3Package, configBaseHooks,
            nodeExporter == "loopback" ? null : nodeExporter), errors);
    }

    /// <summary>
    /// True when a URL names a password (any scheme) or, for http(s), any user at all (there it is
    /// a token: https://TOKEN@host/...). ssh://git@host/... and scp-like git@host:path pass.
    /// </summary>
    public static bool CarriesCredentials(string url) => Rules.CarriesCredentials(url);

    /// <summary>PATH#FIELD: a KV v2 path (plain segments) and a field name.</summary>
    [GeneratedRegex(@"^([A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*)#([A-Za-z0-9_.-]{1,128})\z")]
    private static partial Regex VaultFieldPattern();

    [GeneratedRegex(@"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,2}( [^\r\n]*)?$")]
    private static partial Regex HostKeyPattern();
}

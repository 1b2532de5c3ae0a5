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
/// The config keys, as declared in Pulumi.yaml (Roster/ProjectConfig.cs is their catalogue: types,
/// defaults, secretness), each spelled once by the section that reads it (Roster/StackSections).
/// </summary>
public static class ConfigKeys
{
    public const string Project = ProjectConfig.Namespace;
    public const string Roster = ProgramSection.Roster;
    public const string SshHost = SshSection.SshHost;
    public const string SshPort = SshSection.SshPort;
    public const string SshUser = SshSection.SshUser;
    public const string SshHostKey = SshSection.SshHostKey;
    public const string SshPrivateKey = SshSection.SshPrivateKey;
    public const string Hosts = SshSection.Hosts;
    public const string RepoUrl = SiteSection.RepoUrl;
    public const string OidcIssuer = SiteSection.OidcIssuer;
    public const string OidcClientId = SiteSection.OidcClientId;
    public const string ClusterName = SiteSection.ClusterName;
    public const string ClusterServer = SiteSection.ClusterServer;
    public const string VaultAddr = SiteSection.VaultAddr;
    public const string T3Command = SiteSection.T3Command;
    public const string EdgeUser = SiteSection.EdgeUser;
    public const string SnapshotUrl = SiteSection.SnapshotUrl;
    public const string RestartIdleMinutes = SiteSection.RestartIdleMinutes;
    public const string OidcGrantType = SiteSection.OidcGrantTypeKey;
    public const string SwapSize = BaseSection.SwapSize;
    public const string Swappiness = BaseSection.Swappiness;
    public const string ToolsMirror = BaseSection.ToolsMirror;
    public const string PinnedTools = BaseSection.PinnedTools;
    public const string OwnLauncher = BaseSection.OwnLauncher;
    public const string NodeExporter = BaseSection.NodeExporter;
    public const string ConfigBaseUrl = BaseSection.ConfigBaseUrl;
    public const string ConfigBaseRef = BaseSection.ConfigBaseRef;
    public const string ConfigBaseHooks = BaseSection.ConfigBaseHooks;
    public const string ClaudeCodePolicy = BaseSection.ClaudeCodePolicy;
    public const string TakeOver = BaseSection.TakeOver;
    public const string T3Package = BaseSection.T3Package;
    public const string HostMemory = BaseSection.HostMemory;
    public const string MemoryReserve = BaseSection.MemoryReserve;
    public const string CapacityWarnPercent = BaseSection.CapacityWarnPercent;
    public const string PurgeArchiveDir = BackupSection.PurgeArchiveDir;
    public const string BackupRepository = BackupSection.BackupRepository;
    public const string BackupPassword = BackupSection.BackupPassword;
    public const string BackupKeepDaily = BackupSection.BackupKeepDaily;
    public const string BackupKeepWeekly = BackupSection.BackupKeepWeekly;
    public const string BackupKeepMonthly = BackupSection.BackupKeepMonthly;
    public const string BackupOnCalendar = BackupSection.BackupOnCalendar;
    /// <summary>
    /// Retired (<see cref="ProjectConfig.Retired"/>): no longer declared in Pulumi.yaml, so no stack
    /// needs it; a stack that still sets it gets the error that says where it moved.
    /// </summary>
    public const string SnapshotToken = SecretsSection.SnapshotToken;
    public const string VaultSecrets = SecretsSection.VaultSecrets;
    public const string Rotate = SecretsSection.Rotate;
    public const string MemoryMcpUrl = SecretsSection.MemoryMcpUrl;
    public const string Kubeconfig = LayersSection.Kubeconfig;
    public const string KubeContext = LayersSection.KubeContext;
    public const string VaultToken = LayersSection.VaultToken;
    public const string VaultKvMount = LayersSection.VaultKvMount;
    public const string VaultUsersPath = LayersSection.VaultUsersPath;
    public const string VaultOidcMount = LayersSection.VaultOidcMount;
    public const string VaultOidcMountAccessor = LayersSection.VaultOidcMountAccessor;
    public const string VaultOidcUserClaim = LayersSection.VaultOidcUserClaim;
    public const string EnableKubernetes = LayersSection.EnableKubernetes;
    public const string EnableVault = LayersSection.EnableVault;
    public const string EnableAuthentik = LayersSection.EnableAuthentik;
    public const string AuthentikUrl = LayersSection.AuthentikUrl;
    public const string AuthentikToken = LayersSection.AuthentikToken;
    public const string AuthentikT3AppSlug = LayersSection.AuthentikT3AppSlug;

    public static string Full(string key) => $"{Project}:{key}";
}

/// <summary>One problem in the stack configuration, named by its full key.</summary>
public sealed record ConfigError(string Key, string Message)
{
    public override string ToString() => $"{ConfigKeys.Full(Key)}: {Message}";
}

/// <summary>How the program reaches the devvm. The private key never leaves a secret output.</summary>
public sealed record SshTarget(string Host, int Port, string User, string HostKey, Output<string> PrivateKey);

/// <summary>
/// One devvm of the fleet (issue 27) as the program uses it: its connection, its ceiling (null:
/// not checked) and its base step's settings (its own swap file).
/// </summary>
public sealed record FleetHost(HostEntry Entry, SshTarget Ssh, HostCapacity? Capacity, BaseSettings Base)
{
    public string Name => Entry.Name;
}

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

/// <summary>Everything the program needs besides the roster, read section by section (Roster/StackSections).</summary>
/// <param name="Base">The base step's settings (swap, tools, launcher, config base, takeOver, ...).</param>
/// <param name="Capacity">The host's memory, swap and reserve for the ceiling check; null: hostMemory unset, not checked.</param>
/// <param name="PurgeArchiveDir">Where a purge archives a home on the devvm (root's, 0700).</param>
/// <param name="Backup">restic backups of /home; null: none (backupRepository unset).</param>
/// <param name="BackupPassword">The repository password (secret), set exactly when Backup is.</param>
/// <param name="Secrets">The shared secrets the secrets steps stage, from Vault; none when vaultSecrets is unset.</param>
/// <param name="K8s">The cluster layer; null when the stack switches it off (enableKubernetes: false).</param>
/// <param name="Vault">The Vault layer; null when switched off (enableVault: false).</param>
/// <param name="Authentik">The edge layer; null when switched off (enableAuthentik: false).</param>
public sealed record StackSettings(
    string RosterPath,
    string HostDir,
    SshTarget Ssh,
    SiteSettings Site,
    BaseSettings Base,
    HostCapacity? Capacity,
    string PurgeArchiveDir,
    BackupSettings? Backup,
    Output<string>? BackupPassword,
    SecretSettings Secrets,
    K8sSettings? K8s,
    VaultSettings? Vault,
    AuthentikSettings? Authentik)
{
    /// <summary>The fleet, in the stack's order: `hosts:`, or the single-host keys as one host named devvm (<see cref="Ssh"/>, <see cref="Capacity"/>, <see cref="Base"/>).</summary>
    public IReadOnlyList<FleetHost> Hosts { get; init; } = [];

    /// <summary>A host by name, or null.</summary>
    public FleetHost? Host(string name) => Hosts.FirstOrDefault(h => h.Name == name);

    // The catalogue's defaults (Roster/ProjectConfig.cs) as typed values: the sections read an unset
    // key as its catalogue default already; tests/Workstation.Tests/ProjectFileTests keeps these equal.
    public const string DefaultRosterPath = ProgramSection.DefaultRosterPath;
    public const int DefaultSshPort = SshSection.DefaultPort;
    public const string DefaultSshUser = SshSection.DefaultUser;
    public const string DefaultHostDir = "host";
    public const string DefaultPurgeArchiveDir = BackupSection.DefaultPurgeArchiveDir;
    /// <summary>edgeUser's explicit "no edge account": t3 ports admit their owner only.</summary>
    public const string NoEdgeUser = StackValues.NoEdgeUser;
    public static readonly BackupSettings DefaultBackup = BackupSection.DefaultBackup;

    /// <summary>Reads and checks every key, section by section; returns all problems at once, in section order.</summary>
    public static (StackSettings? Settings, IReadOnlyList<ConfigError> Errors) Load(IStackConfig config)
    {
        // The layers first: the site needs to know whether the edge is on, the secrets whether Vault is.
        var layers = LayersSection.Read(config.Get);
        var rosterPath = ProgramSection.Read(config.Get);
        var ssh = SshSection.Read(config.Get);
        var site = SiteSection.Read(config.Get, authentikOn: layers.Value.Authentik is not null);
        var machine = BaseSection.Read(config.Get);
        var backup = BackupSection.Read(config.Get);
        var secrets = SecretsSection.Read(config.Get, vaultOn: layers.Value.Vault is not null);

        var errors = new[] { rosterPath.Errors, ssh.Errors, site.Errors, machine.Errors, backup.Errors, layers.Errors, secrets.Errors }
            .SelectMany(e => e).Select(e => new ConfigError(e.Key, e.Message)).ToList();
        // Each host of hosts: its own memory and swap over the stack's, the stack's reserve: its own ceiling.
        var capacities = new List<HostCapacity?>();
        foreach (var (entry, i) in ssh.Value.Hosts.Select((h, i) => (h, i)))
        {
            if (!ssh.Value.FromHostsList)
            {
                capacities.Add(machine.Value.Capacity);
                continue;
            }
            var (capacity, capacityErrors) = entry.Capacity(config.Get);
            errors.AddRange(capacityErrors.Where(e => e.Key is HostCapacity.Keys.HostMemory or HostCapacity.Keys.SwapSize or HostCapacity.Keys.MemoryReserve)
                .Select(e => new ConfigError($"{FleetHosts.Key}[{i}].{(e.Key == HostCapacity.Keys.MemoryReserve ? HostCapacity.Keys.HostMemory : e.Key)}", e.Message)));
            capacities.Add(capacity);
        }
        if (errors.Count > 0) return (null, errors);

        // Every section is valid: each secret it requires is set, so it reads as a secret output.
        Output<string> Secret(string key) =>
            config.GetSecret(key) ?? throw new InvalidOperationException($"{ConfigKeys.Full(key)} reads as set but has no secret value");
        Output<string>? Optional(string key, bool set) => set ? Secret(key) : null;

        var s = ssh.Value;
        var l = layers.Value;
        var privateKey = Secret(ConfigKeys.SshPrivateKey);
        var hosts = s.Hosts.Select((h, i) => new FleetHost(h,
            new SshTarget(h.Address, h.Port, h.User, h.HostKey, privateKey),
            capacities[i],
            h.SwapSize is { } swap ? machine.Value.Base with { SwapSize = swap } : machine.Value.Base)).ToList();
        return (new StackSettings(
            rosterPath.Value,
            DefaultHostDir,
            hosts[0].Ssh,
            site.Value,
            machine.Value.Base,
            machine.Value.Capacity,
            backup.Value.PurgeArchiveDir,
            backup.Value.Backup,
            Optional(ConfigKeys.BackupPassword, backup.Value.Backup is not null),
            secrets.Value,
            l.Kubernetes is { } k ? new K8sSettings(Optional(ConfigKeys.Kubeconfig, k.Kubeconfig), k.Context) : null,
            l.Vault is { } v ? new VaultSettings(site.Value.VaultAddr, Optional(ConfigKeys.VaultToken, v.Token), v.Options, v.OidcMountAccessor) : null,
            l.Authentik is { } a ? new AuthentikSettings(a.Url, Secret(ConfigKeys.AuthentikToken), a.T3AppSlug) : null) { Hosts = hosts }, errors);
    }

    /// <summary>
    /// True when a URL names a password (any scheme) or, for http(s), any user at all (there it is
    /// a token: https://TOKEN@host/...). ssh://git@host/... and scp-like git@host:path pass.
    /// </summary>
    public static bool CarriesCredentials(string url) => Rules.CarriesCredentials(url);
}

namespace Workstation.Roster;

/// <summary>
/// The shared secrets the secrets step stages into a person's home, from Vault. Each has one
/// name (the roster's, the stack config's `vaultSecrets`/`rotate` keys and the host's); where it
/// lands is <see cref="SharedSecrets.Where"/>.
/// </summary>
public enum SharedSecret { BeadsKey, ClaudeCredentials, HaUrl, MemoryKey, SnapshotToken, RepoToken, KubeToken }

/// <summary>`memory:` in a roster entry: the shared claude_memory key, or none. A per-person key can come later as a third value.</summary>
public enum MemoryAccess { Shared, None }

/// <summary>`claude_login:` in a roster entry: the shared Claude token staged as ~/.claude/.credentials.json, or the person logs in.</summary>
public enum ClaudeLogin { Interactive, Shared }

public static class SharedSecrets
{
    /// <summary>Every secret, in name order (the order the host and the docs list them).</summary>
    public static IReadOnlyList<SharedSecret> All { get; } =
        Enum.GetValues<SharedSecret>().OrderBy(Name, StringComparer.Ordinal).ToList();

    public static string Name(this SharedSecret s) => s switch
    {
        SharedSecret.BeadsKey => "beads-key",
        SharedSecret.ClaudeCredentials => "claude-credentials",
        SharedSecret.HaUrl => "ha-url",
        SharedSecret.MemoryKey => "memory-key",
        SharedSecret.SnapshotToken => "snapshot-token",
        SharedSecret.RepoToken => "repo-token",
        SharedSecret.KubeToken => "kube-token",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    public static SharedSecret? Parse(string name) => All.Cast<SharedSecret?>().FirstOrDefault(s => s!.Value.Name() == name);

    /// <summary>Where the host puts it in the person's home (an MCP server lives in ~/.claude.json).</summary>
    public static string Where(this SharedSecret s) => (s.HomeFile(), s.McpServer()) switch
    {
        (_, { } server) => $"the `{server}` MCP server in ~/.claude.json",
        ({ } file, _) when s == SharedSecret.RepoToken => $"~/{file} (git's credential helper for ~/code reads it)",
        ({ } file, _) when s == SharedSecret.KubeToken => $"~/{file} (the tokenFile of ~/.kube/config)",
        ({ } file, _) => $"~/{file}",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    /// <summary>The file the host stages it in, relative to the home; null for a secret that is an MCP server (<see cref="McpServer"/>).</summary>
    public static string? HomeFile(this SharedSecret s) => s switch
    {
        SharedSecret.BeadsKey => "code/.beads/.beads-credential-key",
        SharedSecret.ClaudeCredentials => ".claude/.credentials.json",
        SharedSecret.SnapshotToken => ".config/workstation/snapshot-token",
        SharedSecret.RepoToken => ".config/workstation/repo-token",
        SharedSecret.KubeToken => KubeTokenPath,
        _ => null,
    };

    /// <summary>The MCP server in ~/.claude.json that carries it; null for a secret staged as a file (<see cref="HomeFile"/>).</summary>
    public static string? McpServer(this SharedSecret s) => s switch
    {
        SharedSecret.HaUrl => "ha",
        SharedSecret.MemoryKey => "claude_memory",
        _ => null,
    };

    /// <summary>
    /// What a person may hold, from their entry: the snapshot token, the beads key and the
    /// repository token go to everyone (playwright, `bd` and the ~/code clone need them); the
    /// rest as the entry says.
    /// </summary>
    public static IReadOnlyList<SharedSecret> Eligible(bool ha, MemoryAccess memory, ClaudeLogin login, KubeAuth kube = KubeAuth.Oidc)
    {
        var held = new List<SharedSecret> { SharedSecret.BeadsKey, SharedSecret.RepoToken, SharedSecret.SnapshotToken };
        if (ha) held.Add(SharedSecret.HaUrl);
        if (memory == MemoryAccess.Shared) held.Add(SharedSecret.MemoryKey);
        if (login == ClaudeLogin.Shared) held.Add(SharedSecret.ClaudeCredentials);
        if (kube == KubeAuth.ServiceAccountToken) held.Add(SharedSecret.KubeToken);
        return held.OrderBy(Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// The one secret that is not shared: each person's own service-account token, read from their
    /// own Vault path (vaultKvMount/vaultUsersPath/os_user, this field), never from vaultSecrets.
    /// </summary>
    public static bool IsPersonal(this SharedSecret s) => s == SharedSecret.KubeToken;

    /// <summary>The field of the person's own Vault secret that holds their kube token.</summary>
    public const string KubeTokenField = "kube-token";

    /// <summary>Where the kube token lands, relative to the home (the kubeconfig's tokenFile).</summary>
    public const string KubeTokenPath = ".config/workstation/kube-token";

    public const string KubeTokenFile = "~/" + KubeTokenPath;

    public static string ToYaml(this MemoryAccess m) => m switch
    {
        MemoryAccess.Shared => "shared",
        MemoryAccess.None => "none",
        _ => throw new ArgumentOutOfRangeException(nameof(m)),
    };

    public static string ToYaml(this ClaudeLogin l) => l switch
    {
        ClaudeLogin.Interactive => "interactive",
        ClaudeLogin.Shared => "shared",
        _ => throw new ArgumentOutOfRangeException(nameof(l)),
    };

    /// <summary>
    /// The line an operator pastes after rotating a shared secret in Vault: the next serial
    /// makes the secrets step rewrite that one file for every eligible person.
    /// </summary>
    public static string RotationLine(SharedSecret s, int currentSerial) =>
        RotationLine(s, (currentSerial + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>
    /// The same line where the current serial is not known (e.g. in `roster diff`, which reads no
    /// stack config): `&lt;next serial&gt;` stands for it, for the operator to fill in.
    /// </summary>
    public static string RotationLine(SharedSecret s) => RotationLine(s, NextSerial);

    /// <summary>What <see cref="RotationLine(SharedSecret)"/> prints in place of the number.</summary>
    public const string NextSerial = "<next serial>";

    private static string RotationLine(SharedSecret s, string serial) =>
        $"pulumi config set --path 'rotate[\"{s.Name()}\"]' {serial}";
}

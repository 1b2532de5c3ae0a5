using System.Globalization;
using System.Text;

namespace Workstation.Tests.Support;

/// <summary>Paths in the repository, found from the test binary upwards.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Golden(string file) => Path.Combine(Root, "tests", "golden", file);

    public static string HostDir => Path.Combine(Root, "host");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Workstation.csproj")) && Directory.Exists(Path.Combine(dir.FullName, "tests", "golden")))
                return dir.FullName;
        }
        throw new InvalidOperationException("cannot find the repository root above " + AppContext.BaseDirectory);
    }
}

/// <summary>Config from a dictionary. Secrets can be handed out as plain outputs, to prove the program re-wraps them.</summary>
public sealed class DictConfig(IReadOnlyDictionary<string, string> values, bool secretsAsPlainOutputs = false) : IStackConfig
{
    public IReadOnlyDictionary<string, string> Values { get; } = values;

    public string? Get(string key) => Values.TryGetValue(key, out var v) ? v : null;

    public Output<string>? GetSecret(string key) =>
        Values.TryGetValue(key, out var v) ? (secretsAsPlainOutputs ? Output.Create(v) : Output.CreateSecret(v)) : null;

    public DictConfig With(string key, string? value)
    {
        var copy = new Dictionary<string, string>(Values);
        if (value is null) copy.Remove(key); else copy[key] = value;
        return new DictConfig(copy, secretsAsPlainOutputs);
    }
}

/// <summary>The golden fixture: tests/golden/roster.yaml, the site values behind host-commands.txt, and fake secrets.</summary>
public static class Fixture
{
    public const string PrivateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nZml4dHVyZS1wcml2YXRlLWtleQ==\n-----END OPENSSH PRIVATE KEY-----\n";
    public const string Token = "fixture-snapshot-token-3f9c";
    public const string HaUrl = "https://ha.example.test/api/mcp/fixture-ha-secret-9b2e";
    public const string MemoryKey = "fixture-memory-key-44d0";
    public const string ClaudeCredentials = "{\"claudeAiOauth\":{\"accessToken\":\"fixture-claude-token-a7c3\"}}";
    public const string BeadsKey = "fixture-beads-key-e1f5";
    public const string MemoryMcpUrl = "https://memory.example.test/mcp";
    public const string RepoToken = "fixture-repo-token-5a1b";

    /// <summary>Where the fixture stack says each shared secret is (vaultSecrets), and what the mocked Vault holds there.</summary>
    public const string VaultSecretsJson = "{\"beads-key\":\"beads#credential_key\",\"claude-credentials\":\"claude-code#credentials\"," +
        "\"ha-url\":\"openclaw#ha_sofia_mcp_url\",\"memory-key\":\"openclaw#claude_memory_key\",\"repo-token\":\"forgejo#token\",\"snapshot-token\":\"chrome-service#token\"}";

    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> VaultKv = new Dictionary<string, IReadOnlyDictionary<string, string>>
    {
        ["secret/beads"] = new Dictionary<string, string> { ["credential_key"] = BeadsKey },
        ["secret/claude-code"] = new Dictionary<string, string> { ["credentials"] = ClaudeCredentials },
        ["secret/openclaw"] = new Dictionary<string, string> { ["ha_sofia_mcp_url"] = HaUrl, ["claude_memory_key"] = MemoryKey, ["unrelated"] = "x" },
        ["secret/chrome-service"] = new Dictionary<string, string> { ["token"] = Token },
        ["secret/forgejo"] = new Dictionary<string, string> { ["token"] = RepoToken },
    };

    /// <summary>The values only Vault holds (staged by the secrets steps).</summary>
    public static readonly string[] VaultSecrets = [Token, HaUrl, MemoryKey, ClaudeCredentials, BeadsKey, RepoToken];
    public const string HostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixtureHostKeyFixtureHostKeyFixtureHostKe";
    public const string Kubeconfig = "apiVersion: v1\nkind: Config\nusers:\n- name: fixture\n  user: { token: fixture-kube-token-7d1e }\n";
    public const string VaultToken = "hvs.fixture-vault-token-51aa";
    public const string AuthentikToken = "fixture-authentik-token-c0de";
    public const string T3AppSlug = "t3";

    /// <summary>Every fake secret the fixture config holds.</summary>
    public static readonly string[] AllSecrets = [PrivateKey, Token, HaUrl, MemoryKey, ClaudeCredentials, BeadsKey, RepoToken, Kubeconfig, VaultToken, AuthentikToken];

    /// <summary>Site values that produce the golden `site` line.</summary>
    public static DictConfig Config(bool secretsAsPlainOutputs = false) => new(new Dictionary<string, string>
    {
        [ConfigKeys.SshHost] = "127.0.0.1",
        [ConfigKeys.SshPort] = "2222",
        [ConfigKeys.SshUser] = "root",
        [ConfigKeys.SshHostKey] = HostKey,
        [ConfigKeys.SshPrivateKey] = PrivateKey,
        [ConfigKeys.RepoUrl] = "file:///srv/fixture/repo.git",
        [ConfigKeys.OidcIssuer] = "https://auth.example.test/application/o/kubernetes/",
        [ConfigKeys.OidcClientId] = "kubernetes",
        [ConfigKeys.ClusterName] = "fixture",
        [ConfigKeys.ClusterServer] = "https://k8s.example.test:6443",
        [ConfigKeys.VaultAddr] = "https://vault.example.test",
        [ConfigKeys.T3Command] = "/usr/bin/sleep infinity",
        [ConfigKeys.VaultSecrets] = VaultSecretsJson,
        [ConfigKeys.MemoryMcpUrl] = MemoryMcpUrl,
        [ConfigKeys.Kubeconfig] = Kubeconfig,
        [ConfigKeys.KubeContext] = "fixture-admin",
        [ConfigKeys.VaultToken] = VaultToken,
        [ConfigKeys.AuthentikUrl] = "https://auth.example.test",
        [ConfigKeys.AuthentikToken] = AuthentikToken,
        [ConfigKeys.AuthentikT3AppSlug] = T3AppSlug,
        // Authentik is on: the edge account must be said (issue 24 §1); none keeps the golden site line.
        [ConfigKeys.EdgeUser] = StackSettings.NoEdgeUser,
    }, secretsAsPlainOutputs);

    public static StackSettings Settings(IStackConfig? config = null)
    {
        var (settings, errors) = StackSettings.Load(config ?? Config());
        return settings ?? throw new InvalidOperationException(string.Join('\n', errors));
    }

    public static string RosterText => File.ReadAllText(Golden("roster.yaml"));

    public static RosterModel Roster(string? text = null, string file = "roster.yaml") =>
        RosterLoader.Load(text ?? RosterText, file).ModelOrThrow();

    /// <summary>host-commands.txt: key TAB command, one per line.</summary>
    public static IReadOnlyDictionary<string, string> GoldenCommands() =>
        File.ReadAllLines(Golden("host-commands.txt"))
            .Where(l => l.Length > 0)
            .Select(l => l.Split('\t', 2))
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);

    private static readonly Lazy<HostBundle> RepoBundle = new(() => HostBundle.FromDirectory(Repo.HostDir));

    public static HostBundle Bundle => RepoBundle.Value;

    private static string Golden(string file) => Repo.Golden(file);

    /// <summary>A valid roster with an admin and <paramref name="count"/> users u000..; <paramref name="order"/> permutes the users.</summary>
    public static string GeneratedRoster(int count, IEnumerable<int>? order = null)
    {
        var sb = new StringBuilder();
        sb.Append("settings:\n  t3_base_port: 3773\n  playwright_base_port: 8931\n");
        sb.Append("admin:\n  os_user: wiz\n  authentik_user: wiz.admin\n  k8s_user: wiz\n  uid: 2000\n  ports: { t3: 3773, playwright: 8931 }\n");
        sb.Append("users:\n");
        foreach (var i in order ?? Enumerable.Range(0, count))
        {
            var name = "u" + i.ToString("D3", CultureInfo.InvariantCulture);
            sb.Append(CultureInfo.InvariantCulture, $"  {name}:\n");
            sb.Append(CultureInfo.InvariantCulture, $"    authentik_user: {name}.auth\n    k8s_user: {name}\n    email: {name}@example.test\n");
            if (i % 2 == 0) sb.Append("    tier: power-user\n");
            else sb.Append(CultureInfo.InvariantCulture, $"    tier: namespace-owner\n    namespaces: [ns-{name}]\n");
            sb.Append(CultureInfo.InvariantCulture, $"    uid: {3000 + i}\n    ports: {{ t3: {10000 + i}, playwright: {20000 + i} }}\n");
        }
        sb.Append("retired: {}\n");
        return sb.ToString();
    }
}

using System.Text.Json;
using System.Text.RegularExpressions;

namespace Workstation.Roster;

/// <summary>Where a shared secret is in Vault: a field of a KV v2 secret under the stack's `vaultKvMount`.</summary>
public sealed record VaultField(string Path, string Field)
{
    public override string ToString() => $"{Path}#{Field}";
}

/// <summary>The shared secrets: where each is in Vault, its rotation serial, and the claude_memory server.</summary>
/// <param name="Fields">Secret → its Vault field (vaultSecrets); a secret not listed is staged to no one.</param>
/// <param name="Rotate">Secret → serial (rotate); raising one rewrites that secret for every holder. Unlisted: 0.</param>
/// <param name="MemoryMcpUrl">The claude_memory MCP server's URL (memoryMcpUrl), set exactly when memory-key is staged.</param>
public sealed record SecretSettings(IReadOnlyDictionary<SharedSecret, VaultField> Fields, IReadOnlyDictionary<SharedSecret, int> Rotate, string? MemoryMcpUrl)
{
    public static SecretSettings None { get; } = new(new Dictionary<SharedSecret, VaultField>(), new Dictionary<SharedSecret, int>(), null);
}

/// <summary>
/// The secrets section: vaultSecrets {NAME: "PATH#FIELD"} and rotate {NAME: SERIAL}, only names
/// and numbers, never values; and the retired snapshotToken, read only to say where it moved.
/// </summary>
public static partial class SecretsSection
{
    public const string VaultSecrets = "vaultSecrets";
    public const string Rotate = "rotate";
    public const string MemoryMcpUrl = "memoryMcpUrl";

    /// <summary>Retired (<see cref="ProjectConfig.Retired"/>): a stack that still sets it gets the error that says where it moved.</summary>
    public const string SnapshotToken = "snapshotToken";

    public static readonly IReadOnlyList<string> Keys = [VaultSecrets, Rotate, MemoryMcpUrl, SnapshotToken];

    /// <param name="vaultOn">The Vault layer is on (the layers section's enableVault): the secrets are read from it.</param>
    public static Section<SecretSettings> Read(Func<string, string?> get, bool vaultOn)
    {
        var c = new SectionConfig(Keys, get);
        // The token was once a config copy of a Vault value; now Vault is read directly. Retired:
        // Pulumi.yaml no longer declares it, but a stack that still sets it is told where it moved.
        if (c.IsSet(SnapshotToken))
            c.Add(SnapshotToken,
                "is no longer read: the snapshot token comes from Vault. Name its field with " +
                $"`pulumi config set --path '{VaultSecrets}[\"snapshot-token\"]' PATH#FIELD`, then `pulumi config rm {SnapshotToken}`");

        var fields = new Dictionary<SharedSecret, VaultField>();
        foreach (var (name, value) in JsonObject(c, VaultSecrets))
        {
            if (Known(c, VaultSecrets, name) is not { } secret) continue;
            if (secret.IsPersonal())
            {
                c.Add($"{VaultSecrets}[\"{name}\"]",
                    $"is per person, not shared: it is read from each person's own Vault path ({LayersSection.VaultKvMount}/{LayersSection.VaultUsersPath}/OS_USER#{SharedSecrets.KubeTokenField}) for whoever the roster gives kube_auth: service-account-token");
                continue;
            }
            if (value.ValueKind == JsonValueKind.String && VaultFieldPattern().Match(value.GetString()!) is { Success: true } m)
                fields[secret] = new VaultField(m.Groups[1].Value, m.Groups[2].Value);
            else
                c.Add($"{VaultSecrets}[\"{name}\"]", "is not PATH#FIELD: a KV v2 secret under vaultKvMount and one of its fields (e.g. openclaw#ha_sofia_mcp_url)");
        }
        var rotate = new Dictionary<SharedSecret, int>();
        foreach (var (name, value) in JsonObject(c, Rotate))
        {
            if (Known(c, Rotate, name) is not { } secret) continue;
            if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) && n is >= 0 and <= Rules.MaxRotationSerial) rotate[secret] = n;
            else c.Add($"{Rotate}[\"{name}\"]", $"is not a rotation serial (a whole number, 0-{Rules.MaxRotationSerial})");
        }
        if (fields.Count > 0 && !vaultOn)
            c.Add(VaultSecrets, $"needs Vault: the secrets are read from it, and {SectionConfig.Full(LayersSection.EnableVault)} is false");
        string? memoryUrl = null;
        if (fields.ContainsKey(SharedSecret.MemoryKey))
            memoryUrl = c.Url(MemoryMcpUrl, "the claude_memory MCP server's URL (its key comes from Vault)");
        else if (c.Get(MemoryMcpUrl) is { Length: > 0 })
            c.Add(MemoryMcpUrl, $"is set, but {SectionConfig.Full(VaultSecrets)} names no memory-key: the server would have no key");
        return c.Result(new SecretSettings(fields, rotate, memoryUrl));
    }

    private static IEnumerable<(string Name, JsonElement Value)> JsonObject(SectionConfig c, string key)
    {
        if (c.Get(key) is not { Length: > 0 } text) return [];
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
        c.Add(key, "is not an object of secret names (set its entries with `pulumi config set --path`)");
        return [];
    }

    private static SharedSecret? Known(SectionConfig c, string key, string name)
    {
        if (SharedSecrets.Parse(name) is { } s) return s;
        // The shared ones are listed: a per-person secret is never a vaultSecrets key (rotate takes it too).
        c.Add($"{key}[\"{StackValues.Printable(name)}\"]", $"is not a shared secret: known are {string.Join(", ", SharedSecrets.All.Where(x => !x.IsPersonal()).Select(x => x.Name()))}");
        return null;
    }

    /// <summary>PATH#FIELD: a KV v2 path (plain segments) and a field name.</summary>
    [GeneratedRegex(@"^([A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*)#([A-Za-z0-9_.-]{1,128})\z")]
    private static partial Regex VaultFieldPattern();
}

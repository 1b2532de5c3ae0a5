using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Workstation.Roster.Access;

/// <summary>
/// Where user secrets live in Vault and which auth mount users log in through.
/// KvMount is a KV v2 mount; a user's secrets sit under KvMount/{data,metadata}/UsersPath/&lt;user&gt;/.
/// UserClaim is the claim the mount's OIDC role reads as the alias name (its `user_claim`).
/// </summary>
public sealed record VaultOptions(string KvMount = "secret", string UsersPath = "users", string OidcMountPath = "oidc",
    VaultUserClaim UserClaim = VaultUserClaim.PreferredUsername)
{
    public static VaultOptions Default { get; } = new();
}

/// <summary>
/// The OIDC role's `user_claim`: what Vault names a login's alias after. A login whose alias
/// name no entity holds gets a new, empty entity, so the program must name aliases the same way.
/// </summary>
public enum VaultUserClaim { PreferredUsername, Email, Sub }

public static class VaultUserClaims
{
    /// <summary>The stack config key (workstation:KEY) that says which claim it is.</summary>
    public const string ConfigKey = "vaultOidcUserClaim";

    public static string ToConfig(this VaultUserClaim claim) => claim switch
    {
        VaultUserClaim.PreferredUsername => "preferred_username",
        VaultUserClaim.Email => "email",
        VaultUserClaim.Sub => "sub",
        _ => throw new ArgumentOutOfRangeException(nameof(claim)),
    };

    /// <summary>
    /// The config value: unset or '' is preferred_username. `sub` is refused: Authentik's sub is a
    /// hash of its own user id (per provider), which the roster doesn't hold, so no alias name could follow it.
    /// </summary>
    public static (VaultUserClaim Claim, string? Error) Parse(string? value) => value switch
    {
        null or "" or "preferred_username" => (VaultUserClaim.PreferredUsername, null),
        "email" => (VaultUserClaim.Email, null),
        "sub" => (VaultUserClaim.Sub,
            "is sub, Authentik's hashed per-user id, which the roster doesn't hold, so no alias can be named after it: " +
            "set the Vault OIDC role's user_claim to preferred_username (the roster's authentik_user) or email (its email), and this key to match"),
        _ => (VaultUserClaim.PreferredUsername, $"'{StackValues.Printable(value)}' is not preferred_username, email or sub (the Vault OIDC role's user_claim)"),
    };
}

/// <summary>One path block of a Vault policy.</summary>
public sealed record VaultPathGrant(string Path, IReadOnlyList<string> Capabilities);

/// <summary>A Vault identity entity; Policies are attached to it. Disabled: Vault refuses every login and token of it.</summary>
public sealed record VaultEntitySpec(string Name, IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<string> Policies, bool Disabled = false);

/// <summary>Links a login on an auth mount (by path; resolve its accessor at deploy time) to an entity.</summary>
public sealed record VaultEntityAliasSpec(string Name, string MountPath, string EntityName);

public sealed record VaultPolicySpec(string Name, string Json);

/// <summary>Everything Workstation creates in Vault for one user.</summary>
public sealed record VaultUserAccess(string OsUser, VaultEntitySpec Entity, VaultEntityAliasSpec Alias, VaultPolicySpec Policy);

/// <summary>What a retired user keeps in Vault: the entity, disabled and without policies; the alias only when the login is known.</summary>
public sealed record VaultRetiredAccess(string OsUser, VaultEntitySpec Entity, VaultEntityAliasSpec? Alias);

/// <summary>Pure mapping from a derived user to Vault identity objects and a per-user KV policy.</summary>
public static class VaultAccess
{
    // KV v2 splits one logical path into data/ (read and write the secret) and metadata/
    // (list keys, read versions, delete every version); a policy on data/ alone can't list or clean up.
    private static readonly string[] DataCapabilities = ["create", "delete", "patch", "read", "update"];
    private static readonly string[] MetadataCapabilities = ["delete", "list", "read"];

    public static string PolicyName(string osUser) => $"{AccessLabels.NamePrefix}-{osUser}";

    /// <summary>The policy's path blocks, sorted by path. Only this user's subtree; never sys/.</summary>
    public static IReadOnlyList<VaultPathGrant> Grants(string osUser, VaultOptions o)
    {
        Check(o.KvMount, nameof(o.KvMount));
        Check(o.UsersPath, nameof(o.UsersPath));
        if (o.KvMount == "sys" || o.KvMount.StartsWith("sys/", StringComparison.Ordinal))
            throw new ArgumentException("the KV mount can't be under sys/", nameof(o));
        // The trailing "/" before "*" keeps alice's glob from matching alice2's secrets.
        return
        [
            new($"{o.KvMount}/data/{o.UsersPath}/{osUser}/*", DataCapabilities),
            new($"{o.KvMount}/metadata/{o.UsersPath}/{osUser}/*", MetadataCapabilities),
        ];
    }

    /// <summary>The policy as Vault-accepted JSON: paths and capabilities sorted, indented, LF, trailing newline.</summary>
    public static string PolicyJson(DerivedUser u, VaultOptions o) => PolicyJson(Grants(u.OsUser, o));

    public static string PolicyJson(IEnumerable<VaultPathGrant> grants)
    {
        // Relaxed escaping: the JSON goes to Vault's API and a doc, never into HTML, so "<" stays readable.
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, NewLine = "\n", Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteStartObject("path");
            foreach (var g in grants.OrderBy(g => g.Path, StringComparer.Ordinal))
            {
                w.WriteStartObject(g.Path);
                w.WriteStartArray("capabilities");
                foreach (var c in g.Capabilities.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)) w.WriteStringValue(c);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    public static VaultUserAccess For(DerivedUser u, VaultOptions o)
    {
        var policy = new VaultPolicySpec(PolicyName(u.OsUser), PolicyJson(u, o));
        return new(u.OsUser,
            new VaultEntitySpec(u.OsUser, Metadata(u.OsUser, u.AuthentikUser), [policy.Name]),
            new VaultEntityAliasSpec(AliasName(u, o.UserClaim), o.OidcMountPath, u.OsUser),
            policy);
    }

    /// <summary>
    /// The name Vault gives this person's login on the OIDC mount: the claim the role reads. The
    /// one derivation, for the component, the diff and the import plan. The roster check
    /// (<see cref="RosterLoader.Load(string, string, VaultUserClaim)"/>) makes sure every person has what the claim needs.
    /// </summary>
    public static string AliasName(DerivedUser u, VaultUserClaim claim) => claim switch
    {
        VaultUserClaim.PreferredUsername => u.AuthentikUser,
        VaultUserClaim.Email => u.Email ?? throw new ArgumentException($"{u.OsUser} has no email, and the Vault OIDC role names logins by email", nameof(u)),
        _ => throw new ArgumentException($"no alias name follows the claim {claim.ToConfig()}", nameof(claim)),
    };

    /// <summary>A tombstone's alias name; null when it doesn't record what the claim needs (a tombstone records no email).</summary>
    public static string? AliasName(RetiredUser r, VaultUserClaim claim) => claim switch
    {
        VaultUserClaim.PreferredUsername => r.AuthentikUser,
        VaultUserClaim.Email => null,
        _ => throw new ArgumentException($"no alias name follows the claim {claim.ToConfig()}", nameof(claim)),
    };

    /// <summary>
    /// A tombstone's Vault objects: the same entity (same name, so an update in place), disabled and
    /// with no policies; the same alias when the tombstone records its login (<see cref="AliasName(RetiredUser, VaultUserClaim)"/>). No policy.
    /// </summary>
    public static VaultRetiredAccess For(RetiredUser r, VaultOptions o) => new(r.OsUser,
        new VaultEntitySpec(r.OsUser, Metadata(r.OsUser, r.AuthentikUser), [], Disabled: true),
        AliasName(r, o.UserClaim) is { } login ? new VaultEntityAliasSpec(login, o.OidcMountPath, r.OsUser) : null);

    // No tier and no state in the metadata: a tier change must not touch Vault, and retiring
    // changes only Disabled and the policies.
    private static SortedDictionary<string, string> Metadata(string osUser, string? authentikUser)
    {
        var metadata = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["managed-by"] = AccessLabels.ManagedByValue,
            ["os_user"] = osUser,
        };
        if (authentikUser is not null) metadata["authentik_user"] = authentikUser;
        return metadata;
    }

    /// <summary>Every person's Vault objects (the admin included), sorted by os_user.</summary>
    public static IReadOnlyList<VaultUserAccess> For(DerivedRoster roster, VaultOptions o) =>
        roster.Users.OrderBy(u => u.OsUser, StringComparer.Ordinal).Select(u => For(u, o)).ToList();

    // Options end up inside glob paths: an empty segment, a leading/trailing "/" or a glob
    // character would widen the grant beyond the user's subtree.
    private static void Check(string segment, string name)
    {
        if (segment.Length == 0 || segment.StartsWith('/') || segment.EndsWith('/') || segment.Contains("//", StringComparison.Ordinal)
            || segment.IndexOfAny(['*', '+', ' ']) >= 0 || segment.Split('/').Any(s => s is "." or ".."))
            throw new ArgumentException($"'{segment}' is not a plain Vault path", name);
    }
}

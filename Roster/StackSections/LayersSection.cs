using Workstation.Roster.Access;

namespace Workstation.Roster;

/// <summary>The cluster layer. <paramref name="Kubeconfig"/>: the stack sets kubeconfig contents (a secret); false: the ambient one.</summary>
/// <param name="Context">The kubeconfig context; null: its current context.</param>
public sealed record KubeLayer(string? Context, bool Kubeconfig);

/// <summary>The Vault layer. <paramref name="Token"/>: the stack sets a token (a secret); false: the provider reads VAULT_TOKEN.</summary>
/// <param name="Options">KV mount, users path, OIDC mount path and user claim.</param>
/// <param name="OidcMountAccessor">The OIDC mount's accessor; null: looked up by the mount's path.</param>
public sealed record VaultLayer(VaultOptions Options, string? OidcMountAccessor, bool Token);

/// <summary>The edge layer (its API token is a secret the stack must set).</summary>
/// <param name="T3AppSlug">The slug of the Authentik application the edge policy is bound to.</param>
public sealed record AuthentikLayer(string Url, string T3AppSlug);

/// <summary>Which outside systems the stack manages, and where; a layer switched off is null.</summary>
public sealed record Layers(KubeLayer? Kubernetes, VaultLayer? Vault, AuthentikLayer? Authentik);

/// <summary>
/// The layers section: each outside system can be switched off per stack (a one-machine stack has
/// only the host), and each switched on says how to reach it. The import plan (<see cref="ImportStack"/>)
/// reads the switches and the identity keys through the same small readers.
/// </summary>
public static class LayersSection
{
    // The keys, a line a concern: the switches, then each layer's.
    public const string EnableKubernetes = "enableKubernetes", EnableVault = "enableVault", EnableAuthentik = "enableAuthentik";
    public const string Kubeconfig = "kubeconfig", KubeContext = "kubeContext";
    public const string VaultToken = "vaultToken", VaultKvMount = "vaultKvMount", VaultUsersPath = "vaultUsersPath";
    public const string VaultOidcMount = "vaultOidcMount", VaultOidcMountAccessor = "vaultOidcMountAccessor", VaultOidcUserClaim = VaultUserClaims.ConfigKey;
    public const string AuthentikUrl = "authentikUrl", AuthentikToken = "authentikToken", AuthentikT3AppSlug = "authentikT3AppSlug";

    public static readonly IReadOnlyList<string> Keys =
    [
        EnableKubernetes, EnableVault, EnableAuthentik, Kubeconfig, KubeContext, VaultToken, VaultKvMount, VaultUsersPath,
        VaultOidcMount, VaultOidcMountAccessor, VaultOidcUserClaim, AuthentikUrl, AuthentikToken, AuthentikT3AppSlug,
    ];

    public sealed record Switches(bool Kubernetes, bool Vault, bool Authentik);

    public static Section<Layers> Read(Func<string, string?> get)
    {
        var c = new SectionConfig(Keys, get);
        var on = ReadSwitches(c);
        var k8s = on.Kubernetes ? new KubeLayer(Context(c), c.IsSet(Kubeconfig)) : null;
        var vault = Vault(c, on.Vault);
        var authentik = on.Authentik ? Authentik(c) : null;
        return c.Result(new Layers(k8s, vault, authentik));
    }

    public static Switches ReadSwitches(SectionConfig c) => new(c.Switch(EnableKubernetes), c.Switch(EnableVault), c.Switch(EnableAuthentik));

    public static string? Context(SectionConfig c) =>
        c.Word(KubeContext, StackValues.KubeContext(), "a kubeconfig context name (one word, no whitespace)");

    public static string? OidcMount(SectionConfig c) => c.Word(VaultOidcMount, StackValues.VaultPath(), StackValues.VaultOidcMountForm);

    public static string? OidcMountAccessor(SectionConfig c) => c.Word(VaultOidcMountAccessor, StackValues.VaultAccessor(), StackValues.VaultAccessorForm);

    /// <summary>What the Vault OIDC role names logins by (<see cref="VaultUserClaims.Parse"/>).</summary>
    public static VaultUserClaim UserClaim(SectionConfig c)
    {
        var (claim, error) = VaultUserClaims.Parse(c.Get(VaultOidcUserClaim));
        if (error is not null) c.Add(VaultOidcUserClaim, error);
        return claim;
    }

    // The mounts are checked even with Vault off: switching it on later finds them valid.
    private static VaultLayer? Vault(SectionConfig c, bool on)
    {
        var defaults = VaultOptions.Default;
        var claim = on ? UserClaim(c) : defaults.UserClaim;
        var options = new VaultOptions(
            c.Word(VaultKvMount, StackValues.VaultPath(), "a plain Vault mount path (e.g. secret)") ?? defaults.KvMount,
            c.Word(VaultUsersPath, StackValues.VaultPath(), "a plain Vault path (e.g. users)") ?? defaults.UsersPath,
            OidcMount(c) ?? defaults.OidcMountPath,
            claim);
        try
        {
            // The policy builder has the last word on what may become the policy's root.
            VaultAccess.Grants("check", options);
        }
        catch (ArgumentException e)
        {
            c.Add(VaultKvMount, e.Message);
        }
        return on ? new VaultLayer(options, OidcMountAccessor(c), c.IsSet(VaultToken)) : null;
    }

    private static AuthentikLayer Authentik(SectionConfig c)
    {
        var url = c.Url(AuthentikUrl, "the Authentik URL the provider talks to");
        if (string.IsNullOrWhiteSpace(c.Get(AuthentikToken)))
            c.Add(AuthentikToken, $"required: an Authentik API token, as a secret: `pulumi config set --secret {AuthentikToken} TOKEN`");
        var slug = c.Required(AuthentikT3AppSlug, "the slug of the t3 application in Authentik");
        if (slug.Length > 0 && !StackValues.AuthentikSlug().IsMatch(slug))
            c.Add(AuthentikT3AppSlug, StackValues.NotA(slug, StackValues.AuthentikSlugForm));
        return new AuthentikLayer(url, slug);
    }
}

namespace Workstation.Roster;

/// <summary>
/// How kubelogin (the exec plugin of every person's kubeconfig) gets a token. The devvm has no
/// browser, so kubelogin's default (a browser on a localhost redirect) never completes there.
/// </summary>
public enum OidcGrantType
{
    /// <summary>The device authorization grant: kubelogin prints a URL and a code; any browser, anywhere, completes it.</summary>
    DeviceCode,

    /// <summary>The authorization code flow, the code typed back into the terminal (for an issuer without the device grant).</summary>
    AuthcodeKeyboard,
}

/// <summary>
/// `kube_auth:` in a roster entry: how the person's first ~/.kube/config authenticates. OIDC
/// (kubelogin) by default; a service-account token from the person's own Vault path is the
/// seed's fallback, chosen per person in review.
/// </summary>
public enum KubeAuth { Oidc, ServiceAccountToken }

public static class Kubelogin
{
    public static string ToYaml(this KubeAuth a) => a switch
    {
        KubeAuth.Oidc => "oidc",
        KubeAuth.ServiceAccountToken => "service-account-token",
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    /// <summary>The stack key that picks the grant (workstation:oidcGrantType).</summary>
    public const string GrantTypeKey = "oidcGrantType";

    /// <summary>Headless by default: the device grant needs no redirect back to the devvm and no pasted code.</summary>
    public const OidcGrantType DefaultGrantType = OidcGrantType.DeviceCode;

    /// <summary>Every grant, in name order (the host's list, the docs').</summary>
    public static IReadOnlyList<OidcGrantType> All { get; } =
        Enum.GetValues<OidcGrantType>().OrderBy(Name, StringComparer.Ordinal).ToList();

    /// <summary>The name in the stack config, the host's site option and kubelogin's --grant-type.</summary>
    public static string Name(this OidcGrantType g) => g switch
    {
        OidcGrantType.DeviceCode => "device-code",
        OidcGrantType.AuthcodeKeyboard => "authcode-keyboard",
        _ => throw new ArgumentOutOfRangeException(nameof(g)),
    };

    public static OidcGrantType? Parse(string name) => All.Cast<OidcGrantType?>().FirstOrDefault(g => g!.Value.Name() == name);

    /// <summary>
    /// The scope kubelogin must ask for on top of openid: the apiserver reads its username from the
    /// email claim, which Authentik puts in the ID token only when the `email` scope was granted.
    /// </summary>
    public static string? ExtraScope(K8sUsernameClaim claim) => claim == K8sUsernameClaim.Email ? "email" : null;
}

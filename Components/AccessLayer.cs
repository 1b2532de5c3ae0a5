using Pulumi;
using Pulumi.Kubernetes.Rbac.V1;
using Pulumi.Vault;
using Workstation.Roster;
using Workstation.Roster.Access;

namespace Workstation.Components;

/// <summary>
/// What every user's cluster and Vault objects share: one explicit provider per system (so
/// nothing ever falls back to an ambient default provider), the power-user ClusterRole, and the
/// OIDC auth mount's accessor. Providers sit at the stack's top level: their URNs never move.
/// A layer the stack switches off has none of it (null): no provider, no object, no lookup.
/// </summary>
public sealed class AccessLayer
{
    public const string K8sProviderName = ResourceNames.K8sProvider;
    public const string VaultProviderName = ResourceNames.VaultProvider;

    public Pulumi.Kubernetes.Provider? K8s { get; }
    public Pulumi.Vault.Provider? Vault { get; }

    /// <summary>Created whether or not anyone is a power-user, so a tier change never has to create it.</summary>
    public ClusterRole? PowerUserRole { get; }

    /// <summary>The accessor of the auth mount users log in through (EntityAlias needs the accessor, not the path).</summary>
    public Output<string>? OidcMountAccessor { get; }

    public K8sOptions K8sOptions { get; }
    public VaultOptions VaultOptions { get; }

    public AccessLayer(StackSettings settings, RosterSettings roster)
    {
        K8sOptions = K8sOptions.From(roster);
        VaultOptions = settings.Vault?.Options ?? VaultOptions.Default;

        if (settings.K8s is { } k8s)
        {
            K8s = new Pulumi.Kubernetes.Provider(K8sProviderName, K8sProviderArgs(k8s),
                new CustomResourceOptions { AdditionalSecretOutputs = { "kubeconfig" } });
            var role = K8sAccess.PowerUserReadOnlyRole;
            PowerUserRole = new ClusterRole(ResourceNames.PowerUserRole, K8sRbac.ClusterRole(role),
                new CustomResourceOptions { Provider = K8s, DeleteBeforeReplace = true }.With(ResourceTypes.ClusterRole));
        }

        if (settings.Vault is { } vault)
        {
            var provider = new Pulumi.Vault.Provider(VaultProviderName, VaultProviderArgs(vault),
                new CustomResourceOptions { AdditionalSecretOutputs = { "token" } });
            Vault = provider;
            var mount = vault.Options.OidcMountPath;
            OidcMountAccessor = vault.OidcMountAccessor is { } accessor
                ? Output.Create(accessor)
                : GetAuthBackend.Invoke(new GetAuthBackendInvokeArgs { Path = mount }, new InvokeOptions { Provider = provider })
                    .Apply(r => CheckAuthBackend(mount, r.Accessor, r.Type));
        }
    }

    /// <summary>
    /// The kubeconfig is a credential: secret. Unset, the provider reads KUBECONFIG itself at run time;
    /// the SDK's own default would copy this machine's KUBECONFIG path into the provider's inputs.
    /// </summary>
    public static Pulumi.Kubernetes.ProviderArgs K8sProviderArgs(K8sSettings k8s)
    {
        var args = new Pulumi.Kubernetes.ProviderArgs { KubeConfig = null };
        if (k8s.Kubeconfig is { } kubeconfig) args.KubeConfig = Output.CreateSecret(kubeconfig);
        if (k8s.Context is { } context) args.Context = context;
        return args;
    }

    /// <summary>
    /// No token in config: the provider reads VAULT_TOKEN from the environment; we never store one.
    /// TLS checking is pinned on: the SDK would otherwise copy VAULT_SKIP_VERIFY from whoever runs
    /// pulumi into the inputs, so one shell's setting could send the token to an unverified server.
    /// </summary>
    public static Pulumi.Vault.ProviderArgs VaultProviderArgs(VaultSettings vault)
    {
        var args = new Pulumi.Vault.ProviderArgs { Address = vault.Address, SkipTlsVerify = false };
        if (vault.Token is { } token) args.Token = Output.CreateSecret(token);
        return args;
    }

    /// <summary>The lookup's answer, or a clear error: an alias on the wrong (or no) mount would never match a login.</summary>
    public static string CheckAuthBackend(string path, string? accessor, string? type) =>
        string.IsNullOrEmpty(accessor)
            ? throw new RunException($"Vault has no auth mount at '{path}/' (workstation:{ConfigKeys.VaultOidcMount}); set the mount path, or its accessor in workstation:{ConfigKeys.VaultOidcMountAccessor}")
            : type is not null and not "oidc" and not "jwt"
                ? throw new RunException($"Vault's auth mount '{path}/' is of type '{type}', not oidc or jwt (workstation:{ConfigKeys.VaultOidcMount})")
                : accessor;
}

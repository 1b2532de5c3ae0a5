namespace Workstation.Tests.Support;

/// <summary>Pulumi type tokens the tests look resources up by: one spelling for every test.</summary>
internal static class Types
{
    public const string Command = "command:remote:Command";
    public const string ClusterRole = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole";
    public const string ClusterRoleBinding = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding";
    public const string RoleBinding = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding";
    public const string VaultEntity = "vault:identity/entity:Entity";
    public const string VaultAlias = "vault:identity/entityAlias:EntityAlias";
    public const string VaultPolicy = "vault:index/policy:Policy";
    public const string VaultEntityPolicies = "vault:identity/entityPolicies:EntityPolicies";
    public const string AuthentikGroup = "authentik:index/group:Group";
    public const string AuthentikPolicy = "authentik:index/policyExpression:PolicyExpression";
    public const string AuthentikBinding = "authentik:index/policyBinding:PolicyBinding";
    public const string AuthentikApp = "authentik:index/application:Application";
    public const string AuthentikProxyProvider = "authentik:index/providerProxy:ProviderProxy";
    public const string K8sProvider = "pulumi:providers:kubernetes";
    public const string VaultProvider = "pulumi:providers:vault";
    public const string AuthentikProvider = "pulumi:providers:authentik";
    public const string WorkstationUserType = Workstation.Components.WorkstationUser.Type;

    // Invokes (data sources) the mocks answer.
    public const string GetUser = "authentik:index/getUser:getUser";
    public const string GetAuthBackend = "vault:index/getAuthBackend:getAuthBackend";
    public const string GetKvSecretV2 = "vault:kv/getSecretV2:getSecretV2";

    /// <summary>The T3 Users group's type and name, as the diff tests key resources.</summary>
    public const string T3UsersGroupKey = AuthentikGroup + "::workstation-authentik-t3-users";
}

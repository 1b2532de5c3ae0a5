using Workstation.Roster.Access;

namespace Workstation.Roster;

/// <summary>
/// The Pulumi type tokens the program registers outside the host: the cluster, Vault and
/// Authentik objects, their explicit providers and the components they hang under. Strings
/// only, so the roster engine (the import plan) can name them without the Pulumi SDKs; the mock
/// tests check each against the type the SDK registers.
/// </summary>
public static class ResourceTypes
{
    public const string WorkstationBase = "workstation:index:WorkstationBase";
    public const string WorkstationUser = "workstation:index:WorkstationUser";
    public const string AuthentikEdge = "workstation:index:AuthentikEdge";

    /// <summary>pulumi-command's remote Command: every host step.</summary>
    public const string Command = "command:remote:Command";

    public const string K8sProvider = "pulumi:providers:kubernetes";
    public const string VaultProvider = "pulumi:providers:vault";
    public const string AuthentikProvider = "pulumi:providers:authentik";

    public const string ClusterRole = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole";
    public const string ClusterRoleBinding = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding";
    public const string RoleBinding = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding";

    public const string VaultPolicy = "vault:index/policy:Policy";
    public const string VaultEntity = "vault:identity/entity:Entity";
    public const string VaultEntityPolicies = "vault:identity/entityPolicies:EntityPolicies";
    public const string VaultEntityAlias = "vault:identity/entityAlias:EntityAlias";

    public const string AuthentikGroup = "authentik:index/group:Group";
    public const string AuthentikPolicyExpression = "authentik:index/policyExpression:PolicyExpression";
    public const string AuthentikPolicyBinding = "authentik:index/policyBinding:PolicyBinding";
}

/// <summary>
/// One of a person's host steps: a Command named `&lt;os_user&gt;-&lt;Name&gt;` under their component,
/// one SSH session each. The program builds them from <see cref="All"/> in this order, the
/// targeted offboarding command names them from it, and the host tests replay their deletes in
/// the order it gives (<see cref="DeleteOrder"/>), so the three can't drift apart.
/// </summary>
/// <param name="Name">What follows the os_user in the resource name.</param>
/// <param name="CreateVerb">The host verb its create and update run (`workstation VERB USER ...`); null: none, the step is there for its delete.</param>
/// <param name="DeleteVerb">The host verb its delete runs (`workstation VERB USER`); null: deleting it leaves the host alone. The admin's steps never have one.</param>
/// <param name="After">The steps it depends on, by name: Pulumi creates it after them and deletes it before them.</param>
/// <param name="SecretsOnly">Only in a stack that stages a secret.</param>
/// <param name="AdminToo">The admin has it as well (the cut step is for people who can be cut, which the admin never is by automation).</param>
public sealed record HostStep(string Name, string? CreateVerb, string? DeleteVerb, IReadOnlyList<string> After, bool SecretsOnly = false, bool AdminToo = true)
{
    /// <summary>`user account apply`: account, groups, lock state; its delete is the reversible cut.</summary>
    public static readonly HostStep Account = new("account", "user account apply", "user suspend", []);

    /// <summary>`user code apply`: the ~/code clone; no delete, homes are kept.</summary>
    public static readonly HostStep Code = new("code", "user code apply", null, ["account"]);

    /// <summary>`user services apply`: ports, budget, MCP entry, firewall, units; its delete turns them off.</summary>
    public static readonly HostStep Services = new("services", "user services apply", "user services stop", ["account"]);

    /// <summary>`user secrets apply`: the shared secrets, values on stdin; its delete takes them out of the home.</summary>
    public static readonly HostStep Secrets = new("secrets", "user secrets apply", "user secrets remove", ["code", "services"], SecretsOnly: true);

    /// <summary>
    /// The cut: no create; its delete is `user suspend`. It depends on every other step, so on a
    /// retire the engine runs it before any other delete (a dependent is deleted before what it
    /// depends on): the account is locked, the units stopped and the processes ended before
    /// anything reads the home. Never the admin's.
    /// </summary>
    public static readonly HostStep Cut = new("cut", null, "user suspend", ["account", "code", "services", "secrets"], AdminToo: false);

    /// <summary>Every host step, in creation order (each after the ones it depends on).</summary>
    public static IReadOnlyList<HostStep> All { get; } = [Account, Code, Services, Secrets, Cut];

    /// <summary>The steps a person has: the admin no cut; a stack that stages no secret no secrets step.</summary>
    public static IReadOnlyList<HostStep> For(bool isAdmin, bool stagesSecrets) =>
        All.Where(s => (stagesSecrets || !s.SecretsOnly) && (s.AdminToo || !isAdmin)).ToList();

    public string ResourceName(string osUser) => $"{osUser}-{Name}";

    /// <summary>
    /// The order the engine deletes <paramref name="steps"/> in when they all go: rounds, each
    /// round's steps depending on none still to delete, last round first (Pulumi's ScheduleDeletes,
    /// pkg/resource/deploy/step_generator.go). A dependency not among the steps is ignored.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<HostStep>> DeleteOrder(IReadOnlyList<HostStep> steps)
    {
        var left = steps.ToList();
        var rounds = new List<IReadOnlyList<HostStep>>();
        while (left.Count > 0)
        {
            var round = left.Where(s => !s.After.Any(d => left.Any(o => o.Name == d))).ToList();
            if (round.Count == 0) throw new InvalidOperationException("the host steps depend on each other in a cycle");
            rounds.Add(round);
            left.RemoveAll(round.Contains);
        }
        rounds.Reverse();
        return rounds;
    }
}

/// <summary>
/// The Pulumi names of every Kubernetes, Vault and Authentik resource the program registers, and
/// of the components and providers above them: the one place they are spelled, so the program
/// and the import plan (<see cref="Imports"/>) can't drift apart. A name is part of the URN:
/// changing one here renames the resource, which Pulumi shows as a replace.
/// Names depend only on the os_user (and namespace or role), never on list positions.
/// </summary>
public static class ResourceNames
{
    /// <summary>The base component (a reserved os_user, so it can't clash with a user's component).</summary>
    public const string Base = "workstation";

    /// <summary>The Authentik component.</summary>
    public const string AuthentikEdge = "workstation-authentik";

    /// <summary>The maps step (top level: it follows every active person).</summary>
    public const string Maps = "workstation-maps";

    /// <summary>A host's base component (issue 27): the devvm keeps <see cref="Base"/>, so a one-host stack's URNs don't move; another host's is workstation-HOST.</summary>
    public static string BaseOf(string host) => host == FleetHosts.DefaultName ? Base : $"{Base}-{host}";

    /// <summary>A move's step on the host left (issue 27 §2), under the person's component.</summary>
    public static string MoveOut(string osUser) => $"{osUser}-move-out";

    /// <summary>A move's step on the host joined.</summary>
    public static string MoveIn(string osUser) => $"{osUser}-move-in";

    /// <summary>A host's maps step: the devvm keeps <see cref="Maps"/>; another host's is workstation-HOST-maps.</summary>
    public static string MapsOf(string host) => host == FleetHosts.DefaultName ? Maps : $"{BaseOf(host)}-maps";

    /// <summary>The cluster's provider (top level: its URN never moves).</summary>
    public const string K8sProvider = "workstation-k8s";

    /// <summary>Vault's provider (top level).</summary>
    public const string VaultProvider = "workstation-vault";

    /// <summary>A person's component: their os_user.</summary>
    public static string User(string osUser) => osUser;

    /// <summary>A person's host steps (<see cref="HostStep.All"/>), in creation order.</summary>
    public static IReadOnlyList<HostStep> HostSteps => HostStep.All;

    /// <summary>The shared power-user ClusterRole: its Kubernetes name.</summary>
    public static string PowerUserRole => K8sAccess.PowerUserRoleName;

    /// <summary>
    /// A person's binding: `&lt;user&gt;-k8s-[&lt;namespace&gt;-]&lt;role&gt;`, from the user, namespace and
    /// Kubernetes name only, so other users' changes never rename it.
    /// </summary>
    public static string K8sBinding(string osUser, BindingSpec b) => K8sBinding(osUser, b.Namespace, b.Name);

    /// <summary>A power-user's ClusterRoleBinding.</summary>
    public static string PowerUserBinding(string osUser) => K8sBinding(osUser, null, K8sAccess.PowerUserBindingName(osUser));

    private static string K8sBinding(string osUser, string? ns, string k8sName)
    {
        var prefix = $"{AccessLabels.NamePrefix}-{osUser}-";
        var role = k8sName.StartsWith(prefix, StringComparison.Ordinal) ? k8sName[prefix.Length..] : k8sName;
        return ns is null ? $"{osUser}-k8s-{role}" : $"{osUser}-k8s-{ns}-{role}";
    }

    /// <summary>The read of a binding another stack owns (a read: never created, never imported).</summary>
    public static string ExternalBindingRead(ExternalBindingExpectation e) => $"{e.OsUser}-k8s-{e.Namespace}-external";

    /// <summary>The read of a ClusterRoleBinding another stack made for the person (roster cluster_bindings).</summary>
    public static string ClusterBindingRead(ClusterBindingExpectation e) => $"{e.OsUser}-k8s-cluster-{e.BindingName}-external";

    /// <summary>The read of the ClusterRole that binding binds (its rules are held to the tier).</summary>
    public static string ClusterBindingRoleRead(ClusterBindingExpectation e) => $"{e.OsUser}-k8s-cluster-{e.BindingName}-external-role";

    public static string VaultPolicy(string osUser) => $"{osUser}-vault-policy";

    public static string VaultEntityPolicies(string osUser) => $"{osUser}-vault-policies";

    /// <param name="entityName">The entity's Vault name (the os_user).</param>
    public static string VaultEntity(string entityName) => $"{entityName}-vault-entity";

    /// <param name="entityName">The name of the entity the alias belongs to (the os_user).</param>
    public static string VaultAlias(string entityName) => $"{entityName}-vault-alias";

    /// <summary>The Authentik component's provider (its child).</summary>
    public static string AuthentikProvider(string edge) => $"{edge}-provider";

    /// <summary>The read of the t3 application (another stack or the UI owns it).</summary>
    public static string T3App(string edge) => $"{edge}-t3-app";

    /// <summary>The t3 application's proxy provider, read (never owned) to tell a per-host application from a domain-level one.</summary>
    public static string T3AppProvider(string edge) => $"{edge}-t3-app-provider";

    /// <summary>The group `T3 Users`.</summary>
    public static string T3Users(string edge) => $"{edge}-t3-users";

    /// <summary>The expression policy that admits only the group.</summary>
    public static string T3UsersOnly(string edge) => $"{edge}-t3-users-only";

    /// <summary>The policy's binding to the t3 application.</summary>
    public static string T3UsersOnlyBinding(string edge) => $"{edge}-t3-users-only-binding";

    /// <summary>
    /// A URN as the engine makes it: the parents' types joined by '$' then the type (the root
    /// stack is not in the chain), then the name.
    /// </summary>
    public static string Urn(string stack, string project, string qualifiedType, string name) =>
        $"urn:pulumi:{stack}::{project}::{qualifiedType}::{name}";
}

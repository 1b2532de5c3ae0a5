using System.Collections.Immutable;
using Pulumi;
using Pulumi.Kubernetes.Types.Inputs.Meta.V1;
using Pulumi.Kubernetes.Types.Inputs.Rbac.V1;
using Workstation.Roster;
using Workstation.Roster.Access;
using K8sOut = Pulumi.Kubernetes.Types.Outputs;

namespace Workstation.Components;

/// <summary>
/// Pure mapping between the access model (Roster/Access) and Pulumi.Kubernetes: specs to args,
/// a read RoleBinding back to what <see cref="ExternalBindingCheck"/> compares. No resources here;
/// their Pulumi names are in <see cref="ResourceNames"/>.
/// </summary>
public static class K8sRbac
{
    public static ClusterRoleArgs ClusterRole(ClusterRoleSpec spec) => new()
    {
        Metadata = Meta(spec.Name, null, spec.Labels),
        Rules = spec.Rules.Select(r => new PolicyRuleArgs
        {
            ApiGroups = r.ApiGroups.ToArray(),
            Resources = r.Resources.ToArray(),
            Verbs = r.Verbs.ToArray(),
        }).ToArray(),
    };

    public static ClusterRoleBindingArgs ClusterRoleBinding(BindingSpec b)
    {
        if (b.Kind != K8sAccess.ClusterRoleBinding || b.Namespace is not null) throw new ArgumentException($"{b.Name} is not a ClusterRoleBinding", nameof(b));
        return new() { Metadata = Meta(b.Name, null, b.Labels), RoleRef = RoleRef(b), Subjects = Subjects(b) };
    }

    public static RoleBindingArgs RoleBinding(BindingSpec b)
    {
        if (b.Kind != K8sAccess.RoleBinding || b.Namespace is null) throw new ArgumentException($"{b.Name} is not a RoleBinding", nameof(b));
        return new() { Metadata = Meta(b.Name, b.Namespace, b.Labels), RoleRef = RoleRef(b), Subjects = Subjects(b) };
    }

    /// <summary>
    /// A RoleBinding as read; null when the read came back empty (what a provider returns when
    /// the object is gone), so the check reports it as missing rather than as a crash.
    /// </summary>
    public static ObservedBinding? Observed(K8sOut.Meta.V1.ObjectMeta? meta, K8sOut.Rbac.V1.RoleRef? roleRef, ImmutableArray<K8sOut.Rbac.V1.Subject> subjects) =>
        meta?.Name is null || roleRef is null
            ? null
            : new ObservedBinding(meta.Name, meta.Namespace ?? "", roleRef.Kind ?? "", roleRef.Name ?? "",
                subjects.IsDefault ? [] : subjects.Select(s => new K8sSubject(s.Kind ?? "", s.Name ?? "")).ToList());

    /// <summary>
    /// Runs the assertion; throws a RunException (shown without a stack trace) that stops the
    /// preview or deploy. Returns the binding's id, for the component's outputs.
    /// </summary>
    /// <param name="offboardHint">What the error ends with: the targeted up that cuts the retired people now (<see cref="Offboarding.Hint"/>).</param>
    public static string Assert(ExternalBindingExpectation expected, ObservedBinding? observed, string offboardHint = "") =>
        ExternalBindingCheck.Check(expected, observed) is { } problem
            ? throw new RunException(
                $"external binding check failed for roster.yaml users.{expected.OsUser}.external_bindings.{expected.Namespace}: {problem}. " +
                "Fix the binding in the stack that owns it, or the name in roster.yaml; Workstation does not create or change it." + offboardHint)
            : expected.Id;

    /// <summary>
    /// Reads a ClusterRoleBinding another stack made for the person, and the ClusterRole it binds
    /// (the provider's reads: never created, changed or imported), and holds them to the tier:
    /// the returned output fails the preview, naming the binding, when it grants more.
    /// </summary>
    public static Output<string> ReadClusterBinding(ClusterBindingExpectation e, Resource parent, ProviderResource provider, string offboardHint = "")
    {
        var binding = Pulumi.Kubernetes.Rbac.V1.ClusterRoleBinding.Get(ResourceNames.ClusterBindingRead(e), e.BindingName,
            new CustomResourceOptions { Parent = parent, Provider = provider });
        var role = Pulumi.Kubernetes.Rbac.V1.ClusterRole.Get(ResourceNames.ClusterBindingRoleRead(e), binding.RoleRef.Apply(r => r.Name),
            new CustomResourceOptions { Parent = parent, Provider = provider });
        return Output.Tuple(binding.Metadata, binding.RoleRef, binding.Subjects, role.Rules)
            .Apply(t => AssertCluster(e, ObservedCluster(t.Item1, t.Item2, t.Item3, t.Item4), offboardHint));
    }

    /// <summary>A ClusterRoleBinding and its role's rules as read; null when the read came back empty.</summary>
    public static ObservedClusterBinding? ObservedCluster(K8sOut.Meta.V1.ObjectMeta? meta, K8sOut.Rbac.V1.RoleRef? roleRef,
        ImmutableArray<K8sOut.Rbac.V1.Subject> subjects, ImmutableArray<K8sOut.Rbac.V1.PolicyRule> rules) =>
        meta?.Name is null || roleRef is null
            ? null
            : new ObservedClusterBinding(meta.Name, roleRef.Kind ?? "", roleRef.Name ?? "",
                subjects.IsDefault ? [] : subjects.Select(s => new K8sSubject(s.Kind ?? "", s.Name ?? "")).ToList(),
                rules.IsDefault ? [] : rules.Select(r => new ObservedRule(List(r.ApiGroups), List(r.Resources), List(r.Verbs), List(r.NonResourceURLs))).ToList());

    private static IReadOnlyList<string> List(ImmutableArray<string> a) => a.IsDefault ? [] : a;

    /// <summary>Throws a RunException (no stack trace) that stops the preview, naming the roster entry and the binding.</summary>
    public static string AssertCluster(ClusterBindingExpectation expected, ObservedClusterBinding? observed, string offboardHint = "") =>
        ClusterBindingCheck.Check(expected, observed) is { } problem
            ? throw new RunException(
                $"cluster binding check failed for roster.yaml users.{expected.OsUser}.cluster_bindings ({expected.BindingName}): {problem}. " +
                "The workstation tier and the cluster tier must agree: fix the binding in the stack that owns it, or the tier in roster.yaml; " +
                "Workstation does not create or change it." + offboardHint)
            : expected.BindingName;

    private static ObjectMetaArgs Meta(string name, string? ns, IReadOnlyDictionary<string, string> labels)
    {
        // Explicit names: the provider would otherwise add a random suffix, and a rename would be a new object.
        var meta = new ObjectMetaArgs { Name = name, Labels = new Dictionary<string, string>(labels) };
        if (ns is not null) meta.Namespace = ns;
        return meta;
    }

    private static RoleRefArgs RoleRef(BindingSpec b) => new() { ApiGroup = K8sAccess.RbacApiGroup, Kind = b.RoleRefKind, Name = b.RoleRefName };

    private static SubjectArgs[] Subjects(BindingSpec b) =>
        b.Subjects.Select(s => new SubjectArgs { ApiGroup = K8sAccess.RbacApiGroup, Kind = s.Kind, Name = s.Name }).ToArray();
}

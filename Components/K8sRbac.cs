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

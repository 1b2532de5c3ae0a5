using Workstation.Roster;

namespace Workstation.Components;

/// <summary>What a stack registers besides the people's host steps, as far as a retire touches it.</summary>
/// <param name="StagesSecrets">The stack stages a shared secret: each person has a secrets step.</param>
/// <param name="K8s">The cluster is configured: each person has the tier's bindings.</param>
/// <param name="Vault">Vault is configured: each person has a policy, its attachment and an entity.</param>
/// <param name="Authentik">The edge is configured: the T3 Users group lists every active person.</param>
public sealed record StackShape(bool StagesSecrets, bool K8s, bool Vault, bool Authentik)
{
    /// <summary>Everything configured (the golden stack).</summary>
    public static StackShape Full { get; } = new(true, true, true, true);
}

/// <summary>
/// What to tell the operator when a run stops on one person's problem: the deletes that cut the
/// people under `retired:` only run at the end of a successful `up`, so the error names the
/// targeted `up` that cuts them now. Its targets are exactly what a retire deletes or updates:
/// each person's host steps (from <see cref="HostStep.For"/>, the list
/// <see cref="WorkstationUser"/> builds them from), bindings, Vault policy, attachment and entity
/// (and alias, when the tombstone drops it), and the two shared resources that list the active
/// people, the maps step and the T3 Users group. Two engine rules shape them:
/// - a targeted up refuses to delete a resource it does not name, a dependent of a target included
///   (pkg/resource/deploy/step_generator.go, GenerateDeletes: "delete untargeted resource"), so none
///   is left out (the secrets step depends on code and services);
/// - it refuses a literal URN the stack does not hold (pkg/resource/deploy/deployment_executor.go,
///   checkTargets), and which of a person's resources the stack still holds depends on its history
///   (a tombstone retired in an earlier up holds only its entity; the tombstone keeps no tier, so
///   which bindings). So each of a person's targets is a glob: `**` where the component's type goes
///   (any parent chain), then the exact type and name; one that matches nothing is no error.
/// URNs as the engine makes them: the root stack is not in the type chain.
/// </summary>
public static class Offboarding
{
    /// <summary>The targeted command, or null when nobody is retired (or every tombstone is purged: nothing left to cut).</summary>
    public static string? TargetedUp(string stack, string project, IEnumerable<RetiredUser> retired, StackShape shape)
    {
        var people = retired.Where(r => !r.Purge).OrderBy(r => r.OsUser, StringComparer.Ordinal).ToList();
        if (people.Count == 0) return null;
        var targets = people.SelectMany(r => Targets(stack, project, r, shape)).Concat(Shared(stack, project, shape));
        return $"pulumi up --stack {stack} " + string.Join(' ', targets.Select(t => $"--target '{t}'"));
    }

    /// <summary>One person's resources that a retire deletes or updates, as globs (see above).</summary>
    public static IEnumerable<string> Targets(string stack, string project, RetiredUser r, StackShape shape)
    {
        var any = $"urn:pulumi:{stack}::{project}::**$";
        // The delete order is the engine's (the cut step first); the order here is only for reading.
        foreach (var step in HostStep.For(isAdmin: false, shape.StagesSecrets))
            yield return $"{any}{ResourceTypes.Command}::{step.ResourceName(r.OsUser)}";
        if (shape.K8s)
        {
            yield return $"{any}{ResourceTypes.ClusterRoleBinding}::{r.OsUser}-k8s-*";
            yield return $"{any}{ResourceTypes.RoleBinding}::{r.OsUser}-k8s-*-admin";
        }
        if (shape.Vault)
        {
            yield return $"{any}{ResourceTypes.VaultPolicy}::{ResourceNames.VaultPolicy(r.OsUser)}";
            yield return $"{any}{ResourceTypes.VaultEntityPolicies}::{ResourceNames.VaultEntityPolicies(r.OsUser)}";
            yield return $"{any}{ResourceTypes.VaultEntity}::{ResourceNames.VaultEntity(r.OsUser)}";
            // Without authentik_user the tombstone keeps no alias: the retire deletes it.
            if (r.AuthentikUser is null) yield return $"{any}{ResourceTypes.VaultEntityAlias}::{ResourceNames.VaultAlias(r.OsUser)}";
        }
    }

    /// <summary>The resources that list every active person: a retire updates them (the person leaves the maps and the group).</summary>
    public static IEnumerable<string> Shared(string stack, string project, StackShape shape)
    {
        yield return ResourceNames.Urn(stack, project, ResourceTypes.Command, ResourceNames.Maps);
        if (shape.Authentik)
            yield return ResourceNames.Urn(stack, project, $"{ResourceTypes.AuthentikEdge}${ResourceTypes.AuthentikGroup}",
                ResourceNames.T3Users(ResourceNames.AuthentikEdge));
    }

    /// <summary>The sentence an error ends with, or "" when there is nobody to cut.</summary>
    public static string Hint(string stack, string project, IEnumerable<RetiredUser> retired, StackShape shape) =>
        TargetedUp(stack, project, retired, shape) is { } up
            ? $" This also holds up the cut of the people under retired: (it runs at the end of a successful up). To cut them now: {up}"
            : "";
}

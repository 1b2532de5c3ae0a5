using Workstation.Roster;

namespace Workstation.Components;

/// <summary>
/// What to tell the operator when a run stops on one person's problem: the deletes that cut the
/// people under `retired:` only run at the end of a successful `up`, so the error names the
/// targeted `up` that cuts them now (their host steps, bindings, Vault policy and entity), without
/// waiting for the rest. URNs as the engine makes them: the root stack is not in the type chain.
/// </summary>
public static class Offboarding
{
    /// <summary>The targeted command, or null when nobody is retired (or every tombstone is purged: nothing left to cut).</summary>
    public static string? TargetedUp(string stack, string project, IEnumerable<RetiredUser> retired)
    {
        var targets = retired.Where(r => !r.Purge).OrderBy(r => r.OsUser, StringComparer.Ordinal)
            .SelectMany(r => Targets(stack, project, r.OsUser)).ToList();
        if (targets.Count == 0) return null;
        return $"pulumi up --stack {stack} " + string.Join(' ', targets.Select(t => $"--target '{t}'"));
    }

    /// <summary>One person's resources that a retire deletes or updates (a glob for the RoleBindings: one per namespace).</summary>
    public static IEnumerable<string> Targets(string stack, string project, string osUser)
    {
        var parent = $"urn:pulumi:{stack}::{project}::{ResourceTypes.WorkstationUser}$";
        return
        [
            $"{parent}command:remote:Command::{osUser}-services",
            $"{parent}command:remote:Command::{osUser}-code",
            $"{parent}command:remote:Command::{osUser}-account",
            $"{parent}{ResourceTypes.ClusterRoleBinding}::{ResourceNames.PowerUserBinding(osUser)}",
            $"{parent}{ResourceTypes.RoleBinding}::{osUser}-k8s-*-admin",
            $"{parent}{ResourceTypes.VaultPolicy}::{ResourceNames.VaultPolicy(osUser)}",
            $"{parent}{ResourceTypes.VaultEntityPolicies}::{ResourceNames.VaultEntityPolicies(osUser)}",
            $"{parent}{ResourceTypes.VaultEntity}::{ResourceNames.VaultEntity(osUser)}",
        ];
    }

    /// <summary>The sentence an error ends with, or "" when there is nobody to cut.</summary>
    public static string Hint(string stack, string project, IEnumerable<RetiredUser> retired) =>
        TargetedUp(stack, project, retired) is { } up
            ? $" This also holds up the cut of the people under retired: (it runs at the end of a successful up). To cut them now: {up}"
            : "";
}

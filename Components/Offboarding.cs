using Workstation.Roster;

namespace Workstation.Components;

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

    /// <summary>One person's resources that a retire deletes or updates, as globs (see above; the one list is <see cref="OffboardTargets"/>).</summary>
    public static IEnumerable<string> Targets(string stack, string project, RetiredUser r, StackShape shape) => OffboardTargets.Targets(stack, project, r, shape);

    /// <summary>The resources that list every active person: a retire updates them (the person leaves the maps and the group).</summary>
    public static IEnumerable<string> Shared(string stack, string project, StackShape shape) => OffboardTargets.Shared(stack, project, shape);

    /// <summary>The sentence an error ends with, or "" when there is nobody to cut.</summary>
    public static string Hint(string stack, string project, IEnumerable<RetiredUser> retired, StackShape shape) =>
        TargetedUp(stack, project, retired, shape) is { } up
            ? $" This also holds up the cut of the people under retired: (it runs at the end of a successful up). To cut them now: {up}"
            : "";
}

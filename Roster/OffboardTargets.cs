using Workstation.Roster.Access;

namespace Workstation.Roster;

/// <summary>What a stack registers besides the people's host steps, as far as a retire touches it.</summary>
/// <param name="StagesSecrets">The stack stages a shared secret: each person has a secrets step.</param>
/// <param name="K8s">The cluster is configured: each person has the tier's bindings.</param>
/// <param name="Vault">Vault is configured: each person has a policy, its attachment and an entity.</param>
/// <param name="Authentik">The edge is configured: the T3 Users group lists every active person.</param>
public sealed record StackShape(bool StagesSecrets, bool K8s, bool Vault, bool Authentik)
{
    /// <summary>Everything configured (the golden stack).</summary>
    public static StackShape Full { get; } = new(true, true, true, true);

    /// <summary>The fleet's host names (issue 27): each host's maps step lists its people; default the one host, devvm.</summary>
    public IReadOnlyList<string> Hosts { get; init; } = [FleetHosts.DefaultName];
}

/// <summary>
/// The targets of a targeted `up` that cuts people under `retired:` now: exactly what a retire
/// deletes or updates (the rules are on Components' Offboarding, which names them in its hint;
/// `roster cut-targets` prints them for `scripts/ci.sh cut`). Built from <see cref="HostStep.For"/>,
/// the list the program builds each person's host steps from.
/// </summary>
public static class OffboardTargets
{
    /// <summary>One person's resources that a retire deletes or updates, as globs (a glob that matches nothing is no error).</summary>
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
        foreach (var host in shape.Hosts) yield return ResourceNames.Urn(stack, project, ResourceTypes.Command, ResourceNames.MapsOf(host));
        if (shape.Authentik)
            yield return ResourceNames.Urn(stack, project, $"{ResourceTypes.AuthentikEdge}${ResourceTypes.AuthentikGroup}",
                ResourceNames.T3Users(ResourceNames.AuthentikEdge));
    }
}

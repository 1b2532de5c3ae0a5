namespace Workstation.Roster;

/// <summary>
/// What Pulumi may do when it deletes an outside object (a `pulumi destroy`, a rename that moves
/// its URN, a layer switched off). RetainOnDelete: the object stays in the cluster, Vault or
/// Authentik, and only leaves Pulumi's state. Protect: Pulumi refuses the delete (and the whole
/// preview) until someone unprotects it on purpose (docs/pulumi.md, "Retained objects").
/// </summary>
public sealed record Retention(bool RetainOnDelete, bool Protect)
{
    public static Retention None { get; } = new(false, false);

    public static Retention Retain { get; } = new(true, false);

    public static Retention Guard { get; } = new(true, true);

    /// <summary>
    /// The one rule, for the program and the import plan alike. Kept: the admin's Vault identity
    /// (entity, alias, policy: automation never cuts the admin), the shared power-user ClusterRole
    /// and the edge gate (group, expression, binding): every object the import plan adopts whose
    /// delete is never an offboarding step. Protected: where a delete locks the owner out (the
    /// admin's entity and alias carry policies granted outside this program; the expression admits
    /// only the group's members). Not kept: a person's bindings, policy, entity and alias, whose
    /// delete IS the revocation (a tier change, a removal, a purge) and must happen.
    /// </summary>
    /// <param name="type">The Pulumi type token (<see cref="ResourceTypes"/>).</param>
    /// <param name="ofAdmin">Whether the object belongs to the roster's admin.</param>
    public static Retention For(string type, bool ofAdmin) => type switch
    {
        ResourceTypes.VaultEntity or ResourceTypes.VaultEntityAlias => ofAdmin ? Guard : None,
        ResourceTypes.VaultPolicy => ofAdmin ? Retain : None,
        ResourceTypes.ClusterRole => Retain,
        ResourceTypes.AuthentikGroup => Guard,
        ResourceTypes.AuthentikPolicyExpression or ResourceTypes.AuthentikPolicyBinding => Retain,
        _ => None,
    };
}

namespace Workstation.Tests;

/// <summary>
/// §6 (issue 24): the admin's cloud identity and the edge gate survive `pulumi destroy` and a
/// rename of the admin's os_user. RetainOnDelete keeps them in Vault and Authentik when Pulumi
/// deletes them; Protect makes Pulumi refuse the delete where it would lock the owner out.
/// Read from the options the program constructs (the mock monitor doesn't see options).
/// </summary>
public class RetentionTests
{
    private static readonly string[] Retained =
    [
        $"{Types.AuthentikBinding}::workstation-authentik-t3-users-only-binding",
        $"{Types.AuthentikGroup}::workstation-authentik-t3-users",
        $"{Types.AuthentikPolicy}::workstation-authentik-t3-users-only",
        $"{Types.ClusterRole}::workstation-power-user-readonly",
        $"{Types.VaultEntity}::wiz-vault-entity",
        $"{Types.VaultAlias}::wiz-vault-alias",
        $"{Types.VaultPolicy}::wiz-vault-policy",
    ];

    private static readonly string[] Protected =
    [
        $"{Types.AuthentikGroup}::workstation-authentik-t3-users",
        $"{Types.VaultEntity}::wiz-vault-entity",
        $"{Types.VaultAlias}::wiz-vault-alias",
    ];

    private static string Key(Constructed c) => $"{c.Resource.GetResourceType()}::{c.Resource.GetResourceName()}";

    private static async Task<IReadOnlyList<Constructed>> GoldenAsync(string? roster = null)
    {
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(roster), Fixture.Settings(), Fixture.Bundle).Outputs);
        return constructed;
    }

    [Fact]
    public async Task S6_the_admins_vault_identity_and_the_edge_gate_are_retained_and_only_they()
    {
        var constructed = await GoldenAsync();
        Assert.Equal(Retained.Order(StringComparer.Ordinal), constructed.Where(c => c.Options.RetainOnDelete == true).Select(Key).Order(StringComparer.Ordinal));
        Assert.Equal(Protected.Order(StringComparer.Ordinal), constructed.Where(c => c.Options.Protect == true).Select(Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task S6_a_leavers_identity_is_not_retained_so_removing_or_purging_them_still_deletes_it()
    {
        // bob, retired with his login: his disabled entity and alias stay deletable (purge, removal).
        var constructed = await GoldenAsync(RosterEdit.Golden().Retire("bob", keepLogin: true).Text());
        var bob = constructed.Where(c => c.Resource.GetResourceName().StartsWith("bob-vault-", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, bob.Count);
        Assert.All(bob, c => Assert.True(c.Options.RetainOnDelete is null or false && c.Options.Protect is null or false, Key(c)));
    }

    [Fact]
    public async Task S6_every_object_the_import_plan_adopts_carries_the_retention_the_policy_gives_it()
    {
        // One rule for the program and the import plan: what the plan adopts is kept exactly as Retention.For says.
        var constructed = await GoldenAsync();
        var plan = Imports.Plan(Derivation.Derive(Fixture.Roster()), new ImportStack("devvm", "workstation", true, true, true,
            VaultAddr: "https://vault.example.test", AuthentikUrl: "https://auth.example.test", AuthentikT3AppSlug: Fixture.T3AppSlug));
        foreach (var e in plan.Entries.Where(e => e.Id is not ImportId.Created))
        {
            var c = constructed.Single(c => c.Resource.GetResourceType() == e.Type && c.Resource.GetResourceName() == e.Name);
            var admin = e.Parent?.EndsWith("::wiz", StringComparison.Ordinal) ?? false;
            var want = Retention.For(e.Type, admin);
            Assert.True(want.RetainOnDelete == (c.Options.RetainOnDelete ?? false) && want.Protect == (c.Options.Protect ?? false), Key(c));
        }
    }
}

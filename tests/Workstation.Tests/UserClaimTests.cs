namespace Workstation.Tests;

/// <summary>
/// §7 (issue 24): a Vault alias is named by the claim the OIDC role's user_claim reads, so a
/// login lands on the person's entity whatever that claim is.
/// </summary>
public class UserClaimTests
{
    private const string ClaimKey = ConfigKeys.VaultOidcUserClaim;

    /// <summary>The golden roster with an email for the admin too (the email claim needs one per person).</summary>
    private static string RosterWithAdminEmail() =>
        Fixture.RosterText.Replace("  k8s_user: wiz\n", "  k8s_user: wiz\n  email: wiz@example.test\n", StringComparison.Ordinal);

    [Theory]
    [InlineData(null, "wiz.admin", "alice.a", "bob.b")]
    [InlineData("preferred_username", "wiz.admin", "alice.a", "bob.b")]
    [InlineData("email", "wiz@example.test", "alice@example.test", "bob@example.test")]
    public async Task S7_each_alias_is_named_by_the_claim_the_oidc_role_reads(string? claim, string wiz, string alice, string bob)
    {
        var config = Fixture.Config().With(ClaimKey, claim);
        var run = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(RosterWithAdminEmail()), Fixture.Settings(config), Fixture.Bundle).Outputs);
        Assert.Equal(wiz, run.Named(Types.VaultAlias, "wiz-vault-alias").Str("name"));
        Assert.Equal(alice, run.Named(Types.VaultAlias, "alice-vault-alias").Str("name"));
        Assert.Equal(bob, run.Named(Types.VaultAlias, "bob-vault-alias").Str("name"));
    }
}

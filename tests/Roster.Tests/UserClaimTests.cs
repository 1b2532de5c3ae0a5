using Workstation.Roster.Access;

namespace Workstation.Roster.Tests;

/// <summary>§7 (issue 24): the Vault alias follows the OIDC role's user_claim, named in one place.</summary>
public class UserClaimTests
{
    private static DerivedRoster Derived(string text, VaultUserClaim claim = VaultUserClaim.PreferredUsername) =>
        Derivation.Derive(RosterLoader.Load(text, "roster.yaml", claim).ModelOrThrow());

    private static readonly string WithAdminEmail = TestFiles.Head.Replace("  k8s_user: wiz\n", "  k8s_user: wiz\n  email: wiz@example.test\n", StringComparison.Ordinal) +
        "  alice:\n    authentik_user: alice.a\n    k8s_user: alice\n    email: alice@example.test\n    tier: power-user\n    ports: { t3: 3774, playwright: 8932 }\n" +
        "retired:\n  carol: { ports: { t3: 3776, playwright: 8934 }, authentik_user: carol.c }\n";

    [Theory]
    [InlineData(VaultUserClaim.PreferredUsername, "wiz.admin", "alice.a")]
    [InlineData(VaultUserClaim.Email, "wiz@example.test", "alice@example.test")]
    public void S7_the_alias_is_the_claims_value_for_the_admin_and_each_user(VaultUserClaim claim, string wiz, string alice)
    {
        var roster = Derived(WithAdminEmail.Replace("authentik_user: wiz\n", "authentik_user: wiz.admin\n", StringComparison.Ordinal), claim);
        var options = VaultOptions.Default with { UserClaim = claim };
        Assert.Equal([alice, wiz], VaultAccess.For(roster, options).Select(v => v.Alias.Name));
    }

    [Fact]
    public void S7_with_email_a_tombstone_keeps_no_alias_since_it_records_no_email()
    {
        var carol = Derived(WithAdminEmail, VaultUserClaim.Email).Members.OfType<Member.Retired>().Single().Tombstone;
        Assert.Equal("carol.c", VaultAccess.For(carol, VaultOptions.Default).Alias!.Name);
        Assert.Null(VaultAccess.For(carol, VaultOptions.Default with { UserClaim = VaultUserClaim.Email }).Alias);
    }

    [Fact]
    public void S7_with_the_email_claim_a_person_without_an_email_is_an_error_naming_file_line_and_field()
    {
        var text = TestFiles.Head + "  alice:\n    authentik_user: alice.a\n    k8s_user: alice\n    email: alice@example.test\n    tier: power-user\n    ports: { t3: 3774, playwright: 8932 }\n";
        Assert.True(RosterLoader.Load(text, "roster.yaml").Ok);
        var result = RosterLoader.Load(text, "team.yaml", VaultUserClaim.Email);
        var error = Assert.Single(result.Errors);
        Assert.Equal("team.yaml:2:3: admin.email: required: the stack's Vault OIDC role names logins by email (workstation:vaultOidcUserClaim: email), " +
            "so the email names this person's Vault alias", error.ToString());
    }

    [Theory]
    [InlineData(null, VaultUserClaim.PreferredUsername)]
    [InlineData("preferred_username", VaultUserClaim.PreferredUsername)]
    [InlineData("email", VaultUserClaim.Email)]
    public void S7_the_import_plan_reads_the_claim_from_the_stack_file(string? value, VaultUserClaim claim)
    {
        var (stack, errors) = ImportStack.FromConfig("Pulumi.devvm.yaml", k => k switch
        {
            ImportStack.Keys.VaultAddr => "https://vault.example.test",
            ImportStack.Keys.EnableKubernetes or ImportStack.Keys.EnableAuthentik => "false",
            ImportStack.Keys.VaultOidcUserClaim => value,
            _ => null,
        });
        Assert.Empty(errors);
        Assert.Equal(claim, stack!.VaultOidcUserClaim);
        Assert.Contains($"oidc_user_claim='{claim.ToConfig()}'\n", Imports.Script(Imports.Plan(Derived(WithAdminEmail, claim), stack), "test"), StringComparison.Ordinal);
    }

    [Fact]
    public void S7_the_import_plan_refuses_sub_and_says_why()
    {
        var (stack, errors) = ImportStack.FromConfig("Pulumi.devvm.yaml", k => k switch
        {
            ImportStack.Keys.VaultAddr => "https://vault.example.test",
            ImportStack.Keys.EnableKubernetes or ImportStack.Keys.EnableAuthentik => "false",
            ImportStack.Keys.VaultOidcUserClaim => "sub",
            _ => null,
        });
        Assert.Null(stack);
        var (key, message) = Assert.Single(errors);
        Assert.Equal(ImportStack.Keys.VaultOidcUserClaim, key);
        Assert.StartsWith("is sub, Authentik's hashed per-user id, which the roster doesn't hold", message, StringComparison.Ordinal);
    }
}

namespace Workstation.Roster.Tests;

/// <summary>Issue 24 §3: the kubeconfig's login works on a devvm without a browser.</summary>
public class KubeloginTests
{
    private static readonly SiteSettings Site = new("file:///srv/fixture/repo.git", "https://auth.example.test/o/k8s/", "kubernetes",
        "fixture", "https://k8s.example.test:6443", "https://vault.example.test", "t3");

    private static string? After(List<string> words, string option) =>
        words.IndexOf(option) is var i and >= 0 ? words[i + 1] : null;

    [Fact]
    public void S3_The_site_step_names_a_headless_grant_by_default_and_the_email_scope_when_the_username_claim_is_email()
    {
        var words = ShellWords.Split(HostCommands.Site(Site, RosterSettings.Default with { K8sUsernameClaim = K8sUsernameClaim.Email }, "wiz")).Words;
        Assert.Equal("device-code", After(words, "--oidc-grant-type"));
        Assert.Equal("email", After(words, "--oidc-extra-scope"));
    }

    [Fact]
    public void S3_A_name_username_claim_asks_for_no_extra_scope_and_the_stack_can_pick_the_keyboard_grant()
    {
        var words = ShellWords.Split(HostCommands.Site(Site with { OidcGrantType = OidcGrantType.AuthcodeKeyboard },
            RosterSettings.Default with { K8sUsernameClaim = K8sUsernameClaim.Name }, "wiz")).Words;
        Assert.Equal("authcode-keyboard", After(words, "--oidc-grant-type"));
        Assert.Null(After(words, "--oidc-extra-scope"));
    }

    [Theory]
    [InlineData("device-code", OidcGrantType.DeviceCode)]
    [InlineData("authcode-keyboard", OidcGrantType.AuthcodeKeyboard)]
    public void S3_Every_grant_name_parses_back_to_itself(string name, OidcGrantType grant)
    {
        Assert.Equal(grant, Kubelogin.Parse(name));
        Assert.Equal(name, grant.Name());
    }

    [Theory]
    [InlineData("authcode")]
    [InlineData("browser")]
    [InlineData("Device-Code")]
    [InlineData("")]
    public void S3_A_grant_that_needs_a_browser_or_is_unknown_does_not_parse(string name) => Assert.Null(Kubelogin.Parse(name));
}

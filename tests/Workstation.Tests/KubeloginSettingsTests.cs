namespace Workstation.Tests;

/// <summary>Issue 24 §3: the stack picks kubelogin's grant; unset, one that works without a browser.</summary>
public class KubeloginSettingsTests
{
    [Fact]
    public void S3_Unset_oidcGrantType_is_the_device_code_grant()
    {
        var settings = Fixture.Settings(Fixture.Config().With(ConfigKeys.OidcGrantType, null));
        Assert.Equal(OidcGrantType.DeviceCode, settings.Site.OidcGrantType);
    }

    [Fact]
    public void S3_oidcGrantType_authcode_keyboard_reaches_the_site_step()
    {
        var settings = Fixture.Settings(Fixture.Config().With(ConfigKeys.OidcGrantType, "authcode-keyboard"));
        Assert.Equal(OidcGrantType.AuthcodeKeyboard, settings.Site.OidcGrantType);
        Assert.Contains(" --oidc-grant-type authcode-keyboard", HostCommands.Site(settings.Site, RosterSettings.Default, "wiz"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("authcode")]
    [InlineData("browser")]
    public void S3_A_browser_grant_is_refused_naming_the_key(string value)
    {
        var (settings, errors) = StackSettings.Load(Fixture.Config().With(ConfigKeys.OidcGrantType, value));
        Assert.Null(settings);
        Assert.Equal($"workstation:oidcGrantType: '{value}' is not authcode-keyboard or device-code", Assert.Single(errors).ToString());
    }
}

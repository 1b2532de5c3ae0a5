using System.Text.Json.Nodes;
using Workstation.Roster.Access;
using static Workstation.Roster.Tests.TestFiles;

namespace Workstation.Roster.Tests;

/// <summary>
/// `kube_auth:` (issue 24 §3): OIDC by default; the seed's fallback, a service-account token
/// from the person's own Vault path, chosen per person in review.
/// </summary>
public class KubeAuthTests
{
    private static DerivedRoster Derive(string yaml) => Derivation.Derive(RosterLoader.Load(yaml).ModelOrThrow());

    private static DerivedUser Bea(string extra = "") => Derive(WithBea(extra)).Users.Single(u => u.OsUser == "bea");

    [Fact]
    public void Kube_auth_defaults_to_oidc_and_written_out_means_the_same()
    {
        Assert.Equal(KubeAuth.Oidc, Bea().KubeAuth);
        Assert.Equal(DerivedJson.Write(Derive(WithBea())), DerivedJson.Write(Derive(WithBea("    kube_auth: oidc\n"))));
    }

    [Fact]
    public void A_service_account_token_person_holds_the_kube_token_and_nobody_else_does()
    {
        var roster = Derive(WithBea("    kube_auth: service-account-token\n"));
        Assert.Equal(KubeAuth.ServiceAccountToken, roster.Users.Single(u => u.OsUser == "bea").KubeAuth);
        Assert.Contains(SharedSecret.KubeToken, roster.Users.Single(u => u.OsUser == "bea").Secrets);
        Assert.DoesNotContain(SharedSecret.KubeToken, roster.Users.Single(u => u.OsUser == "wiz").Secrets);
    }

    [Fact]
    public void Kube_auth_on_the_admin_is_read_as_written()
    {
        var yaml = TestFiles.Head.Replace("users:\n", "  kube_auth: service-account-token\nusers:\n", StringComparison.Ordinal) + TestFiles.User("bea", 3774, 8932);
        var roster = Derive(yaml);
        Assert.Equal(KubeAuth.ServiceAccountToken, roster.Users.Single(u => u.OsUser == "wiz").KubeAuth);
        Assert.Equal(KubeAuth.Oidc, roster.Users.Single(u => u.OsUser == "bea").KubeAuth);
    }

    [Fact]
    public void Derive_json_shows_kube_auth_and_the_kube_token_for_review()
    {
        var json = JsonNode.Parse(DerivedJson.Write(Derive(WithBea("    kube_auth: service-account-token\n"))))!;
        Assert.Equal("service-account-token", (string?)json["users"]!["bea"]!["kube_auth"]);
        Assert.Equal("oidc", (string?)json["users"]!["wiz"]!["kube_auth"]);
        Assert.Contains("kube-token", json["users"]!["bea"]!["secrets"]!.AsArray().Select(n => (string?)n));
    }

    [Fact]
    public void Only_the_fallback_is_on_the_account_steps_command_line()
    {
        Assert.EndsWith(" --kube-auth service-account-token", HostCommands.Account(Bea("    kube_auth: service-account-token\n")), StringComparison.Ordinal);
        Assert.DoesNotContain("--kube-auth", HostCommands.Account(Bea()), StringComparison.Ordinal);
        Assert.DoesNotContain("--kube-auth", HostCommands.Account(Bea("    kube_auth: oidc\n")), StringComparison.Ordinal);
    }

    [Fact]
    public void Retiring_a_service_account_token_person_asks_to_rotate_only_the_shared_secrets()
    {
        var before = Derive(WithBea("    kube_auth: service-account-token\n"));
        var after = Derive(TestFiles.Head + "retired:\n  bea: { ports: { t3: 3774, playwright: 8932 } }\n");
        var bea = AccessDiffs.Diff(before, after).People.Single(p => p.OsUser == "bea");
        Assert.NotEmpty(bea.Rotate);
        Assert.DoesNotContain(SharedSecret.KubeToken, bea.Rotate);
    }

    [Fact]
    public void The_host_stages_the_kube_token_where_the_kubeconfig_names_it()
    {
        var rules = HostRules.Render();
        Assert.Contains($"readonly WS_KUBE_TOKEN_PATH='{SharedSecrets.KubeTokenPath}'", rules, StringComparison.Ordinal);
        Assert.Contains("readonly WS_KUBE_AUTHS=' oidc service-account-token '", rules, StringComparison.Ordinal);
        Assert.Equal("~/.config/workstation/kube-token", SharedSecrets.KubeTokenFile);
    }
}

using System.Diagnostics;
using System.Text;

namespace Workstation.Roster.Tests;

/// <summary>host/lib/rules.sh is generated from the C# rules, and the host's checks built on it agree with the engine.</summary>
public class HostRulesTests
{
    private static string RulesSh => Path.Combine(TestFiles.Root, HostRules.RelativePath);

    [Fact]
    public void The_committed_rules_sh_is_the_generated_one()
    {
        var committed = File.ReadAllBytes(RulesSh);
        var generated = new UTF8Encoding(false).GetBytes(HostRules.Render());
        Assert.True(committed.AsSpan().SequenceEqual(generated),
            $"{HostRules.RelativePath} is stale or edited by hand: run `dotnet run --project Roster -- host-rules` and commit the result");
    }

    [Fact]
    public void The_cli_writes_the_rules_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"rules-{Guid.NewGuid():N}.sh");
        try
        {
            Assert.Equal(0, Cli.Run(["host-rules", path], new StringWriter(), new StringWriter()));
            Assert.Equal(HostRules.Render(), File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static TheoryData<string> Names() =>
    [
        "alice", "a", "a1", "svc-1", "a-b-c", new string('a', 32), new string('a', 33),
        "a_b", "_ab", "ab-", "-ab", "1ab", "Alice", "al ice", "a;b", "../x", "b\u0435n", "",
        "root", "nobody", "_apt", "systemd-coredump", "workstation", "docker", "sudo", "code-shared",
    ];

    /// <summary>
    /// The host's valid_os_user (validate.sh on the generated constants) accepts exactly the
    /// names the engine accepts as an os_user: the same pattern and the same reserved names.
    /// </summary>
    [Theory]
    [MemberData(nameof(Names))]
    public void The_host_accepts_an_os_user_exactly_when_the_engine_does(string name)
    {
        var engine = Rules.OsUser().IsMatch(name) && !Rules.ReservedUsers.Contains(name) && !Rules.ReservedGroupNames.Contains(name);
        var host = HostCheck("valid_os_user \"$1\" USER", name);
        Assert.True(engine == (host == 0), $"engine says {(engine ? "valid" : "invalid")}, host exits {host} for '{name}'");
        if (!engine) Assert.Equal(2, host);
    }

    [Theory]
    [InlineData("1023", false)]
    [InlineData("1024", true)]
    [InlineData("65535", true)]
    [InlineData("65536", false)]
    public void The_host_port_range_is_the_engines(string port, bool ok)
    {
        Assert.Equal(ok, int.Parse(port, System.Globalization.CultureInfo.InvariantCulture) is >= Rules.MinPort and <= Rules.MaxPort);
        Assert.Equal(ok ? 0 : 2, HostCheck("valid_port \"$1\" --port", port));
    }

    [Theory]
    [InlineData("admin", true)]
    [InlineData("power-user", true)]
    [InlineData("namespace-owner", true)]
    [InlineData("retired", false)]
    [InlineData("admin power-user", false)]
    public void The_host_knows_the_engines_tiers(string tier, bool ok)
    {
        Assert.Equal(ok, TierNames.Parse(tier) is not null);
        Assert.Equal(ok ? 0 : 2, HostCheck("valid_tier \"$1\"", tier));
    }

    /// <summary>Runs a validate.sh check in bash on the repository's host/lib; returns its exit code.</summary>
    public static TheoryData<string> Urls() =>
    [
        "https://git.example.test/r.git", "https://tok@git.example.test/r.git", "https://u:pw@git.example.test/r.git",
        "ssh://git@git.example.test/r.git", "ssh://git:pw@git.example.test/r.git", "git@git.example.test:org/r.git",
        "/srv/restic", "sftp:backup@host:/srv/restic", "rest:https://host:8000/repo", "rest:https://u:pw@host:8000/repo",
        "rest:https://tok@host:8000/repo", "rest:http://u:pw@host/", "s3:https://s3.example.test/bucket", "s3:s3.amazonaws.com/bucket",
        "sftp://u:pw@host//srv/restic", "https://host/p@th", "https://host/?u=a:b@c", "file:///srv/repo.git", "",
    ];

    /// <summary>
    /// Issue 25 §5: a repository URL (git or restic) with credentials is refused by the host's
    /// no_credentials exactly when the engine's Rules.CarriesCredentials says so: the stack and the
    /// host agree, restic's backend prefixes (rest:https://user:pw@host/) included.
    /// </summary>
    [Theory]
    [MemberData(nameof(Urls))]
    public void The_host_refuses_credentials_in_a_url_exactly_when_the_engine_does(string url)
    {
        var engine = Rules.CarriesCredentials(url);
        var host = HostCheck("no_credentials \"$1\" --repository", url);
        Assert.True(engine == (host == 2), $"engine says {(engine ? "credentials" : "none")}, host exits {host} for '{url}'");
        if (!engine) Assert.Equal(0, host);
    }

    public static TheoryData<string> BindingNames() =>
    [
        "oidc-ns-owner-anca", "a", "a.b", "a-b.c-d", "1", "0a", new string('a', 63), new string('a', 64),
        string.Join('.', Enumerable.Repeat(new string('b', 63), 4)), string.Join('.', Enumerable.Repeat(new string('b', 50), 5)),
        "", "A", "a_b", "-a", "a-", "a..b", ".a", "a.", "a/b", "a b", "a\nb", "b\u0435n", "a;b",
    ];

    /// <summary>
    /// Issue 24 §5: the host's --cluster-binding check accepts exactly the names the loader takes
    /// in cluster_bindings (a DNS-1123 subdomain of at most 253 characters).
    /// </summary>
    [Theory]
    [MemberData(nameof(BindingNames))]
    public void The_host_accepts_a_binding_name_exactly_when_the_engine_does(string name)
    {
        var engine = name.Length is > 0 and <= Rules.MaxDns1123Subdomain && Rules.Dns1123Subdomain().IsMatch(name);
        var host = HostCheck("valid_binding_name \"$1\" --cluster-binding ClusterRoleBinding", name);
        Assert.True(engine == (host == 0), $"engine says {(engine ? "valid" : "invalid")}, host exits {host} for '{name}'");
        if (!engine) Assert.Equal(2, host);
    }

    /// <summary>The host's --external-binding NAMESPACE/ROLEBINDING: the namespace a DNS-1123 label, the name as above.</summary>
    [Theory]
    [MemberData(nameof(BindingNames))]
    public void The_host_accepts_an_external_binding_exactly_when_the_engine_does(string value)
    {
        foreach (var (ns, name) in new[] { (value, "oidc-ns-owner-anca"), ("plotting-book", value) })
        {
            var engine = Rules.Dns1123Label().IsMatch(ns) && name.Length is > 0 and <= Rules.MaxDns1123Subdomain && Rules.Dns1123Subdomain().IsMatch(name);
            var host = HostCheck("valid_external_binding \"$1\"", $"{ns}/{name}");
            Assert.True(engine == (host == 0), $"engine says {(engine ? "valid" : "invalid")}, host exits {host} for '{ns}/{name}'");
            if (!engine) Assert.Equal(2, host);
        }
        Assert.Equal(2, HostCheck("valid_external_binding \"$1\"", "no-slash"));
    }

    /// <summary>Runs SCRIPT in bash with host/lib's common.sh and validate.sh sourced and ARG as $1; returns its exit code (HostAgreementTests shares it).</summary>
    internal static int HostCheck(string script, string arg)
    {
        var lib = Path.Combine(TestFiles.Root, "host", "lib");
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"set -euo pipefail; source \"$0/common.sh\"; source \"$0/validate.sh\"; {script}");
        psi.ArgumentList.Add(lib);
        psi.ArgumentList.Add(arg);
        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode;
    }
}

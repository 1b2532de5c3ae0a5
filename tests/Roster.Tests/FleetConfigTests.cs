namespace Workstation.Roster.Tests;

/// <summary>Issue 27: the stack config `hosts:`, a fleet of devvms; the single-host keys stay a fleet of one named devvm.</summary>
public sealed class FleetConfigTests
{
    private const string Key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixtureHostKey";

    private static Func<string, string?> Config(params (string Key, string? Value)[] values)
    {
        var config = new Dictionary<string, string?>(StringComparer.Ordinal) { [SshSection.SshPrivateKey] = "KEY" };
        foreach (var (k, v) in values) config[k] = v;
        return k => config.GetValueOrDefault(k);
    }

    private static string HostsJson(params string[] entries) => "[" + string.Join(",", entries) + "]";

    private static string Entry(string name, string extra = "") =>
        $"{{\"name\":\"{name}\",\"address\":\"{name}.example.test\",\"hostKey\":\"{Key}\"{extra}}}";

    [Fact]
    public void The_single_host_keys_are_a_fleet_of_one_host_named_devvm()
    {
        var ssh = SshSection.Read(Config((SshSection.SshHost, "devvm.example.test"), (SshSection.SshHostKey, Key)));
        Assert.Empty(ssh.Errors);
        var host = Assert.Single(ssh.Value.Hosts);
        Assert.Equal(new HostEntry("devvm", "devvm.example.test", 22, "root", Key, null, null, false), host);
        Assert.False(ssh.Value.FromHostsList);
    }

    [Fact]
    public void A_hosts_list_reads_each_host_with_the_defaults_port_22_user_root_and_not_cordoned()
    {
        var ssh = SshSection.Read(Config((SshSection.Hosts,
            HostsJson(Entry("devvm"), Entry("devvm2", ",\"port\":2202,\"user\":\"deploy\",\"hostMemory\":\"32G\",\"swapSize\":\"4G\",\"cordon\":true")))));
        Assert.Empty(ssh.Errors);
        Assert.True(ssh.Value.FromHostsList);
        Assert.Equal(
        [
            new HostEntry("devvm", "devvm.example.test", 22, "root", Key, null, null, false),
            new HostEntry("devvm2", "devvm2.example.test", 2202, "deploy", Key, "32G", "4G", true),
        ], ssh.Value.Hosts);
    }

    [Theory]
    [InlineData(SshSection.SshHost, "devvm.example.test")]
    [InlineData(SshSection.SshHostKey, Key)]
    [InlineData(SshSection.SshPort, "2222")]
    [InlineData(SshSection.SshUser, "deploy")]
    public void Setting_a_single_host_key_and_hosts_is_refused_naming_the_key(string key, string value)
    {
        var ssh = SshSection.Read(Config((SshSection.Hosts, HostsJson(Entry("devvm"))), (key, value)));
        var (errorKey, message) = Assert.Single(ssh.Errors);
        Assert.Equal(key, errorKey);
        Assert.Contains("is a single-host key and workstation:hosts is set", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"address\":\"a\",\"hostKey\":\"" + Key + "\"}", "hosts[0].name", "required")]
    [InlineData("{\"name\":\"Dev_VM\",\"address\":\"a\",\"hostKey\":\"" + Key + "\"}", "hosts[0].name", "'Dev_VM' is not a host name")]
    [InlineData("{\"name\":\"a\",\"hostKey\":\"" + Key + "\"}", "hosts[0].address", "required")]
    [InlineData("{\"name\":\"a\",\"address\":\"a\",\"hostKey\":\"" + Key + "\",\"port\":\"70000\"}", "hosts[0].port", "'70000' is not a TCP port")]
    [InlineData("{\"name\":\"a\",\"address\":\"a\"}", "hosts[0].hostKey", "required")]
    [InlineData("{\"name\":\"a\",\"address\":\"a\",\"hostKey\":\"AAAA\"}", "hosts[0].hostKey", "must be one public key line")]
    [InlineData("{\"name\":\"a\",\"address\":\"a\",\"hostKey\":\"" + Key + "\",\"hostMemory\":\"lots\"}", "hosts[0].hostMemory", "'lots' is not a size")]
    [InlineData("{\"name\":\"a\",\"address\":\"a\",\"hostKey\":\"" + Key + "\",\"cordon\":\"yes\"}", "hosts[0].cordon", "must be true or false")]
    [InlineData("{\"name\":\"a\",\"address\":\"a\",\"hostKey\":\"" + Key + "\",\"adress\":\"b\"}", "hosts[0].adress", "unknown field")]
    public void A_bad_host_entry_is_refused_naming_its_field(string entry, string field, string message)
    {
        var ssh = SshSection.Read(Config((SshSection.Hosts, HostsJson(entry))));
        Assert.Contains(ssh.Errors, e => e.Key == field && e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Two_hosts_of_one_name_are_refused_at_the_second()
    {
        var ssh = SshSection.Read(Config((SshSection.Hosts, HostsJson(Entry("devvm"), Entry("devvm")))));
        var (key, message) = Assert.Single(ssh.Errors);
        Assert.Equal("hosts[1].name", key);
        Assert.Equal("host 'devvm' is already named by hosts[0]", message);
    }

    [Fact]
    public void A_bad_host_in_a_stack_file_names_the_file_line_and_field()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "Pulumi.fleet.yaml");
        File.WriteAllText(path, $"""
            config:
              workstation:hosts:
                - name: devvm
                  address: devvm.example.test
                  hostKey: {Key}
                - name: devvm2
                  address: devvm2.example.test
                  hostKey: {Key}
                  port: not-a-port
            """);
        var (hosts, errors) = StackFile.ReadHosts(path);
        Assert.Null(hosts);
        Assert.Equal(["Pulumi.fleet.yaml:9:13: workstation:hosts[1].port: 'not-a-port' is not a TCP port (1-65535)"], errors);
    }

    /// <summary>pulumi/pulumi CHANGELOG.md, 3.114.0: "[engine] Add a --continue-on-error flag to pulumi up".</summary>
    [Fact]
    public void The_deploy_runs_up_with_continue_on_error_which_the_pinned_cli_has()
    {
        var pinned = File.ReadLines(Path.Combine(TestFiles.Root, ".ci", "versions"))
            .Single(l => l.StartsWith("PULUMI_CLI_VERSION=", StringComparison.Ordinal))["PULUMI_CLI_VERSION=".Length..];
        Assert.True(Version.Parse(pinned) >= new Version(3, 114, 0), $"the pinned CLI {pinned} predates --continue-on-error (3.114.0)");
        var ci = File.ReadAllText(Path.Combine(TestFiles.Root, "scripts", "ci.sh"));
        Assert.Contains("pulumi up --stack \"$stack\" --yes --non-interactive --color never --continue-on-error\n", ci, StringComparison.Ordinal);
    }

    private const string FleetStack = """
        config:
          workstation:memoryReserve: 1G
          workstation:hosts:
            - { name: devvm, address: a.example.test, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixtureHostKey", hostMemory: 16G }
            - { name: devvm2, address: b.example.test, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixtureHostKey", hostMemory: 7G }
        """;

    /// <summary>The admin on devvm and two power-users with no host: yet.</summary>
    private static readonly string TwoPeople =
        TestFiles.Head.Replace("  ports: { t3: 3773, playwright: 8931 }\n", "  ports: { t3: 3773, playwright: 8931 }\n  host: devvm\n", StringComparison.Ordinal) +
        TestFiles.User("alice", 3774, 8932) + TestFiles.User("bob", 3775, 8933);

    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var (o, e) = (new StringWriter(), new StringWriter());
        var code = Workstation.Roster.Cli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void Roster_place_prints_the_host_lines_for_the_unplaced_and_validate_then_checks_each_host()
    {
        using var dir = new TempDir();
        var stack = Path.Combine(dir.Path, "Pulumi.fleet.yaml");
        var roster = Path.Combine(dir.Path, "roster.yaml");
        File.WriteAllText(stack, FleetStack);
        File.WriteAllText(roster, TwoPeople);
        // In a fleet of two, people without host: are refused, pointing at place.
        var refused = Cli("validate", roster, "--stack", stack);
        Assert.Equal(1, refused.Code);
        Assert.Contains("users.alice.host: no host: in a fleet of 2 hosts (devvm, devvm2)", refused.Err, StringComparison.Ordinal);

        var place = Cli("place", roster, "--stack", stack);
        Assert.Equal(0, place.Code);
        // Reserve 1G: devvm 15G - wiz 10G = 5G free, devvm2 6G -> alice to devvm2 (most room), then bob to devvm (5G against 3G).
        Assert.Contains("users.alice:  host: devvm2\nusers.bob:  host: devvm\n", place.Out, StringComparison.Ordinal);

        File.WriteAllText(roster, (TwoPeople + "\n").Replace("    ports: { t3: 3774, playwright: 8932 }\n", "    ports: { t3: 3774, playwright: 8932 }\n    host: devvm2\n", StringComparison.Ordinal)
            .Replace("    ports: { t3: 3775, playwright: 8933 }\n", "    ports: { t3: 3775, playwright: 8933 }\n    host: devvm\n", StringComparison.Ordinal));
        var ok = Cli("validate", roster, "--stack", stack);
        Assert.True(ok.Code == 0, ok.Err);
        Assert.Contains("capacity (devvm): the active people's memory budgets (memory_high) add up to 13G", ok.Out + ok.Err, StringComparison.Ordinal);
        Assert.Contains("capacity (devvm2): the active people's memory budgets (memory_high) add up to 3G", ok.Out + ok.Err, StringComparison.Ordinal);
        Assert.Equal("# everyone has a host: nothing to place\n", Cli("place", roster, "--stack", stack).Out.Split("# devvm:")[0]);
        var routes = Cli("routes", roster, "--stack", stack);
        Assert.Contains("\"alice\": {\"host\":\"devvm2\",\"address\":\"b.example.test\",\"t3\":3774}", routes.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void A_stack_file_with_hosts_and_sshHost_is_refused()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "Pulumi.fleet.yaml");
        File.WriteAllText(path, $"config:\n  workstation:sshHost: devvm\n  workstation:hosts:\n    - {{ name: devvm, address: a, hostKey: {Key} }}\n");
        var (hosts, errors) = StackFile.ReadHosts(path);
        Assert.Null(hosts);
        Assert.Contains("workstation:sshHost: is a single-host key and workstation:hosts is set", Assert.Single(errors), StringComparison.Ordinal);
    }
}

/// <summary>A temporary folder, removed afterwards.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("ws-fleet-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Workstation.Roster.Tests;

/// <summary>`roster validate` and `roster derive --json`: exit codes, streams and output.</summary>
public sealed class CliTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("roster-cli-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = Cli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Validate_accepts_the_shipped_roster()
    {
        var (code, stdout, stderr) = Run("validate", TestFiles.ShippedRoster);
        Assert.Equal(0, code);
        Assert.Equal("ok: admin wizard, 2 users, 0 retired\n", stdout.ReplaceLineEndings("\n"));
        Assert.Equal("", stderr);
    }

    [Fact]
    public void Validate_prints_every_error_to_stderr_and_exits_1()
    {
        var path = Write("roster.yaml", TestFiles.Head + "  root:\n    tier: power-user\n");
        var (code, stdout, stderr) = Run("validate", path);
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal(
            """
            roster.yaml:7:3: users.root: 'root' is a reserved system account and can't be managed
            roster.yaml:8:5: users.root.authentik_user: is required
            roster.yaml:8:5: users.root.k8s_user: is required
            roster.yaml:8:5: users.root.email: is required
            roster.yaml:8:5: users.root.ports: no ports are pinned; pin the next free ports with:  ports: { t3: 3774, playwright: 8932 }
            5 error(s); nothing was changed.

            """,
            stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Validate_reports_a_missing_file()
    {
        var (code, _, stderr) = Run("validate", Path.Combine(_dir.FullName, "absent.yaml"));
        Assert.Equal(1, code);
        Assert.StartsWith("absent.yaml:1:1: (file): roster file not found: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_refuses_a_file_over_the_size_limit_before_reading_it()
    {
        var path = Path.Combine(_dir.FullName, "roster.yaml");
        using (var f = File.Create(path)) f.SetLength(RosterLoader.MaxBytes + 1);
        var (code, _, stderr) = Run("validate", path);
        Assert.Equal(1, code);
        Assert.Equal($"roster.yaml:1:1: (file): the roster is {RosterLoader.MaxBytes + 1} bytes; the limit is {RosterLoader.MaxBytes} bytes\n1 error(s); nothing was changed.\n",
            stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Derive_json_parses_and_contains_every_user()
    {
        var (code, stdout, stderr) = Run("derive", "--json", TestFiles.ShippedRoster);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var json = JsonNode.Parse(stdout)!;
        Assert.Equal(["ancamilea", "emo", "wizard"], json["users"]!.AsObject().Select(kv => kv.Key));
        Assert.Equal(3773, (int)json["users"]!["wizard"]!["ports"]!["t3"]!);
        Assert.Equal("namespace-owner", (string?)json["users"]!["ancamilea"]!["tier"]);
    }

    [Fact]
    public void Derive_takes_the_flag_on_either_side_of_the_file()
    {
        Assert.Equal(Run("derive", "--json", TestFiles.ShippedRoster), Run("derive", TestFiles.ShippedRoster, "--json"));
    }

    [Fact]
    public void Derive_of_a_bad_roster_prints_errors_and_no_json()
    {
        var path = Write("roster.yaml", "admin: {}\n");
        var (code, stdout, stderr) = Run("derive", "--json", path);
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Contains("roster.yaml:1:8: admin.os_user: is required", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData]
    [InlineData("frobnicate")]
    [InlineData("derive")]
    [InlineData("derive", "a.yaml")]
    [InlineData("validate", "a.yaml", "b.yaml")]
    [InlineData("derive", "--json", "a.yaml", "b.yaml")]
    [InlineData("--help")]
    public void Usage_errors_exit_2(params string[] args)
    {
        var (code, stdout, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("usage: roster validate [ROSTER]", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_built_program_exits_with_the_same_codes()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "roster.dll");
        var bad = Write("bad.yaml", "users: {}\n");
        foreach (var (args, expected) in new[] { (new[] { "validate", TestFiles.ShippedRoster }, 0), (["validate", bad], 1), ([], 2) })
        {
            var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.ArgumentList.Add(dll);
            foreach (var a in args) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var stdoutTask = process.StandardOutput.ReadToEndAsync();
            var stderr = await process.StandardError.ReadToEndAsync();
            var stdout = await stdoutTask;
            await process.WaitForExitAsync();
            Assert.Equal(expected, process.ExitCode);
            if (expected == 1) Assert.Contains("bad.yaml:1:1: admin: is required", stderr, StringComparison.Ordinal);
            if (expected == 0) Assert.StartsWith("ok: ", stdout, StringComparison.Ordinal);
        }
    }

    private const string Stack = "config:\n  pulumi:disable-default-providers: [vault]\n  workstation:hostMemory: 24G\n  workstation:swapSize: 2G\n" +
                                 "  workstation:sshPrivateKey:\n    secure: AAAB\n";

    [Fact]
    public void Validate_with_the_stack_file_refuses_a_roster_over_capacity_and_changes_nothing()
    {
        var roster = Write("roster.yaml", CapacityTests.People(5));
        var stack = Write("Pulumi.devvm.yaml", Stack);
        var (code, stdout, stderr) = Run("validate", roster, "--stack", stack);
        Assert.Equal(1, code);
        Assert.Equal("ok: admin wiz, 5 users, 0 retired\n", stdout);
        Assert.Equal(
            "roster.yaml: capacity: the active people's memory budgets (memory_high) add up to 25G, above the host's limit of 24G (hostMemory 24G + swapSize 2G - memoryReserve 2G); " +
            "largest: wiz 10G, u1 3G, u2 3G. Lower budgets (settings.budgets or an entry's budget:), retire someone, or raise hostMemory or swapSize.\n" +
            "1 error(s); nothing was changed.\n", stderr);
    }

    [Fact]
    public void Validate_with_the_stack_file_warns_near_the_limit_and_passes()
    {
        var (code, stdout, stderr) = Run("validate", Write("roster.yaml", CapacityTests.People(4)), "--stack", Write("Pulumi.devvm.yaml", Stack));
        Assert.Equal(0, code);
        Assert.Equal("ok: admin wiz, 4 users, 0 retired\n", stdout);
        Assert.StartsWith("warning: capacity: the active people's memory budgets (memory_high) add up to 22G, 91% of the host's limit of 24G", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_with_a_stack_file_without_host_memory_says_the_ceiling_was_not_checked()
    {
        var (code, stdout, _) = Run("validate", Write("roster.yaml", CapacityTests.People(9)), "--stack", Write("Pulumi.x.yaml", "config:\n  workstation:swapSize: 2G\n"));
        Assert.Equal(0, code);
        Assert.EndsWith("capacity: not checked (workstation:hostMemory is not set in Pulumi.x.yaml)\n", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_names_a_bad_capacity_key_in_the_stack_file()
    {
        var (code, _, stderr) = Run("validate", Write("roster.yaml", CapacityTests.People(1)), "--stack", Write("Pulumi.x.yaml", "config:\n  workstation:hostMemory: lots\n"));
        Assert.Equal(1, code);
        Assert.Equal("Pulumi.x.yaml: workstation:hostMemory: 'lots' is not a size: a whole number of bytes, or with K, M, G or T (powers of 1024), e.g. 4G\n", stderr);
    }

    [Fact]
    public void The_shipped_roster_fits_the_devvm_stack()
    {
        var (code, stdout, stderr) = Run("validate", TestFiles.ShippedRoster, "--stack", Path.Combine(TestFiles.Root, "Pulumi.devvm.yaml"));
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Contains("capacity: the active people's memory budgets (memory_high) add up to", stdout, StringComparison.Ordinal);
    }
}

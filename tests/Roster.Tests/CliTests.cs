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
    public void Host_commands_prints_the_golden_lines_but_those_that_need_the_stacks_values()
    {
        var (code, stdout, stderr) = Run("host-commands", TestFiles.GoldenRoster, "--repo-token");
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        var golden = File.ReadAllLines(TestFiles.GoldenCommands)
            .Where(l => l.Length > 0 && !l.StartsWith("site\t", StringComparison.Ordinal) && !l.StartsWith("secrets:", StringComparison.Ordinal));
        Assert.Equal(golden, stdout.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'));
        // Without --repo-token: the code lines of a stack that stages no repo-token.
        var (_, plain, _) = Run("host-commands", TestFiles.GoldenRoster);
        Assert.Contains("code:alice\t" + HostCommands.Cli + " user code apply alice\n", plain, StringComparison.Ordinal);
        Assert.DoesNotContain("--repo-token", plain, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_commands_refuses_a_bad_roster_with_its_errors()
    {
        var bad = Write("roster.yaml", TestFiles.Head + "  root:\n    tier: power-user\n");
        var refused = Run("host-commands", bad);
        Assert.Equal((1, ""), (refused.Code, refused.Out));
        Assert.EndsWith("5 error(s); nothing was changed.\n", refused.Err.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Equal(2, Run("host-commands", bad, "--json").Code);
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

    private const string ImportStack = "config:\n  workstation:vaultAddr: https://vault.example.test\n  workstation:authentikUrl: https://auth.example.test\n" +
                                       "  workstation:authentikT3AppSlug: t3\n  workstation:authentikToken:\n    secure: AAAB\n";

    [Fact]
    public void Import_plan_prints_the_script_for_the_roster_and_the_stack_file()
    {
        var stack = Write("Pulumi.devvm.yaml", ImportStack);
        var (code, stdout, stderr) = Run("import-plan", TestFiles.ShippedRoster, "--stack", stack);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.StartsWith(ImportPlanTests.Header($"roster import-plan {TestFiles.ShippedRoster} --stack {stack}"), stdout, StringComparison.Ordinal);
        Assert.Contains("vault_addr='https://vault.example.test'\n", stdout, StringComparison.Ordinal);
        // The shipped roster: emo's power-user binding; ancamilea's plotting-book binding belongs to another stack (read, not imported).
        Assert.Contains("want 'kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding' 'emo-k8s-power-user-readonly' ", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("plotting-book", stdout, StringComparison.Ordinal);
        Assert.EndsWith("adopt_found\n", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Import_plan_reports_a_bad_roster_like_validate_and_prints_nothing()
    {
        var roster = Write("roster.yaml", TestFiles.Head + "  root:\n    tier: power-user\n");
        var (code, stdout, stderr) = Run("import-plan", roster, "--stack", Write("Pulumi.devvm.yaml", ImportStack));
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("roster.yaml:7:3: users.root: 'root' is a reserved system account and can't be managed\n", stderr.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.EndsWith("5 error(s); nothing was changed.\n", stderr.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public void Import_plan_reports_a_missing_stack_file()
    {
        var (code, stdout, stderr) = Run("import-plan", TestFiles.ShippedRoster, "--stack", Path.Combine(_dir.FullName, "Pulumi.devvm.yaml"));
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith($"roster import-plan: cannot read the stack file {Path.Combine(_dir.FullName, "Pulumi.devvm.yaml")}: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Import_plan_names_each_bad_or_missing_stack_value_by_file_and_key()
    {
        var stack = Write("Pulumi.devvm.yaml", "config:\n  workstation:enableKubernetes: maybe\n  workstation:vaultAddr: https://user:pw@vault.example.test\n" +
            "  workstation:authentikT3AppSlug: t3 app\n");
        var (code, stdout, stderr) = Run("import-plan", TestFiles.ShippedRoster, "--stack", stack);
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Equal(
            "Pulumi.devvm.yaml: workstation:enableKubernetes: 'maybe' is not true or false\n" +
            "Pulumi.devvm.yaml: workstation:vaultAddr: 'https://user:pw@vault.example.test' is not an http(s) URL without credentials, spaces or quotes\n" +
            "Pulumi.devvm.yaml: workstation:authentikUrl: required: Authentik's base URL; set it in the stack file first (the program needs it too)\n" +
            "Pulumi.devvm.yaml: workstation:authentikT3AppSlug: 't3 app' is not an Authentik application slug (letters, digits, '-' and '_')\n",
            stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Import_plan_needs_a_file_named_for_its_stack()
    {
        var (code, _, stderr) = Run("import-plan", TestFiles.ShippedRoster, "--stack", Write("devvm.yaml", ImportStack));
        Assert.Equal(1, code);
        Assert.Equal("devvm.yaml: 'devvm.yaml' is not named Pulumi.STACK.yaml, so it names no stack\n", stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Import_plan_of_a_host_only_stack_needs_no_outside_address_and_imports_nothing()
    {
        var stack = Write("Pulumi.sandbox.yaml", "config:\n  workstation:enableKubernetes: false\n  workstation:enableVault: false\n  workstation:enableAuthentik: false\n");
        var (code, stdout, stderr) = Run("import-plan", TestFiles.ShippedRoster, "--stack", stack);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.DoesNotContain("\nwant '", stdout, StringComparison.Ordinal);
        Assert.Contains("stack='sandbox'\n", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("import-plan")]
    [InlineData("import-plan", "roster.yaml")]
    [InlineData("import-plan", "--stack")]
    public void Import_plan_without_a_stack_file_prints_the_usage(params string[] args)
    {
        var (code, stdout, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("roster import-plan [ROSTER] --stack STACKFILE", stderr, StringComparison.Ordinal);
    }
}

namespace Workstation.Tests;

/// <summary>The Commands registered for the golden roster run exactly the lines the host tests run over SSH.</summary>
public class GoldenCommandsTests
{
    private static Task<Run> GoldenRun() =>
        Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);

    [Fact]
    public async Task Every_command_string_is_a_golden_line_and_every_golden_line_is_used()
    {
        var golden = Fixture.GoldenCommands();
        var run = await GoldenRun();
        var used = new HashSet<string>(StringComparer.Ordinal);
        string Line(string key)
        {
            used.Add(key);
            return golden[key];
        }

        var install = run.Command("workstation-install");
        Assert.Equal(Line("install"), install.Str("create"));
        Assert.Null(install.Str("update"));
        Assert.Null(install.Str("delete"));

        // The base step's line carries the hash of the base inputs, so it is not in the golden file
        // (any edit of host/base would change it); it is built by HostCommands from the bundle.
        var @base = run.Command("workstation-base");
        Assert.Equal(HostCommands.Base(Fixture.Bundle.BaseInputsSha256, new BaseSettings()), @base.Str("create"));
        Assert.Equal(@base.Str("create"), @base.Str("update"));
        Assert.Null(@base.Str("delete"));

        var site = run.Command("workstation-site");
        Assert.Equal(Line("site"), site.Str("create"));
        Assert.Equal(Line("site"), site.Str("update"));
        Assert.Null(site.Str("delete"));

        var maps = run.Command("workstation-maps");
        Assert.Equal(Line("maps"), maps.Str("create"));
        Assert.Equal(Line("maps"), maps.Str("update"));
        Assert.Null(maps.Str("delete"));

        foreach (var user in new[] { "wiz", "alice", "bob" })
        {
            // Each step's line is its golden line at the revision of the host code it runs (not in
            // the golden file: any edit of host/ would change it); its delete carries none.
            foreach (var step in new[] { HostStep.Account, HostStep.Code, HostStep.Services, HostStep.Secrets })
            {
                var command = run.Command(step.ResourceName(user));
                Assert.Equal(Fixture.Bundle.AtHostRev(step, command.StepLine("create")!), command.Str("create"));
                Assert.DoesNotContain("--host-rev", command.Str("delete") ?? "", StringComparison.Ordinal);
            }
            var account = run.Command($"{user}-account");
            Assert.Equal(Line($"account:{user}"), account.StepLine("create"));
            Assert.Equal(account.Str("create"), account.Str("update"));
            // The admin's steps have no delete: automation never cuts the admin.
            Assert.Equal(user == "wiz" ? null : Line($"suspend:{user}"), account.Str("delete"));
            var code = run.Command($"{user}-code");
            Assert.Equal(Line($"code:{user}"), code.StepLine("create"));
            Assert.Equal(code.Str("create"), code.Str("update"));
            Assert.Null(code.Str("delete"));
            var services = run.Command($"{user}-services");
            Assert.Equal(Line($"services:{user}"), services.StepLine("create"));
            Assert.Equal(services.Str("create"), services.Str("update"));
            Assert.Equal(user == "wiz" ? null : Line($"stop:{user}"), services.Str("delete"));
            var secrets = run.Command($"{user}-secrets");
            Assert.Equal(Line($"secrets:{user}"), secrets.StepLine("create"));
            Assert.Equal(secrets.Str("create"), secrets.Str("update"));
            Assert.Equal(user == "wiz" ? null : Line($"remove-secrets:{user}"), secrets.Str("delete"));
            // The cut step: no create; its delete is the same `user suspend` line, run first. None for the admin.
            var cut = run.Registrations.SingleOrDefault(r => r.Type == Types.Command && r.Name == $"{user}-cut");
            if (user == "wiz")
            {
                Assert.Null(cut);
                continue;
            }
            Assert.NotNull(cut);
            Assert.Null(cut.Str("create"));
            Assert.Null(cut.Str("update"));
            Assert.Equal(Line($"suspend:{user}"), cut.Str("delete"));
        }

        Assert.Equal(golden.Keys.Order(StringComparer.Ordinal), used.Order(StringComparer.Ordinal));
        // Nothing else runs on the host.
        Assert.Equal(18, run.Registrations.Count(r => r.Type == Types.Command));
    }

    [Fact]
    public async Task A_non_root_ssh_user_runs_the_same_lines_through_sudo()
    {
        var golden = Fixture.GoldenCommands();
        var settings = Fixture.Settings(Fixture.Config().With(ConfigKeys.SshUser, "deploy"));
        var run = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), settings, Fixture.Bundle).Outputs);

        Assert.Equal("sudo -n " + Fixture.Bundle.AtHostRev(HostStep.Account, golden["account:alice"]), run.Command("alice-account").Str("create"));
        Assert.Equal("sudo -n " + golden["suspend:alice"], run.Command("alice-account").Str("delete"));
        Assert.Equal("sudo -n " + Fixture.Bundle.AtHostRev(HostStep.Services, golden["services:alice"]), run.Command("alice-services").Str("create"));
        Assert.Equal("sudo -n " + golden["maps"], run.Command("workstation-maps").Str("create"));
        // The install line is a pipeline, so it runs whole under one root shell.
        Assert.Equal("sudo -n sh -c " + HostCommands.Quote(golden["install"]), run.Command("workstation-install").Str("create"));
    }

    [Fact]
    public async Task Without_vault_secrets_there_is_no_secrets_step_and_the_services_step_has_no_stdin()
    {
        var settings = Fixture.Settings(Fixture.Config().With(ConfigKeys.VaultSecrets, null).With(ConfigKeys.MemoryMcpUrl, null));
        var run = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), settings, Fixture.Bundle).Outputs);
        var golden = Fixture.GoldenCommands();

        Assert.DoesNotContain(run.Registrations, r => r.Name.EndsWith("-secrets", StringComparison.Ordinal));
        Assert.DoesNotContain(run.Calls!, c => c.Token == Types.GetKvSecretV2);
        var alice = run.Command("alice-services");
        Assert.Equal(golden["services:alice"], alice.StepLine("create"));
        Assert.False(alice.Inputs.ContainsKey("stdin"));
    }
}

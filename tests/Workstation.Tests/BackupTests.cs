using Pulumi.Command.Remote;
using Pulumi.Utilities;

namespace Workstation.Tests;

/// <summary>Home backups: one base step when a repository is configured, its password only on that step's stdin, as a secret.</summary>
public class BackupTests
{
    private const string Password = "rEsTiC-pW-5e6f7a";

    private static DictConfig WithBackup(bool secretsAsPlainOutputs = false) =>
        Fixture.Config(secretsAsPlainOutputs).With(ConfigKeys.BackupRepository, "/srv/restic/devvm").With(ConfigKeys.BackupPassword, Password);

    [Fact]
    public async Task Without_a_repository_there_is_no_backup_step()
    {
        var run = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);
        Assert.DoesNotContain(run.Registrations, r => r.Type == Types.Command && r.Name == "workstation-backup");
    }

    [Fact]
    public async Task With_a_repository_the_backup_step_carries_retention_and_schedule_and_the_password_only_on_stdin()
    {
        var settings = Fixture.Settings(WithBackup(secretsAsPlainOutputs: true)
            .With(ConfigKeys.BackupKeepDaily, "14").With(ConfigKeys.BackupOnCalendar, "*-*-* 03:00:00"));
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), settings, Fixture.Bundle).Outputs);
        var step = constructed.Single(c => c.Resource.GetResourceName() == "workstation-backup");
        var args = (CommandArgs)step.Args;
        var create = await OutputUtilities.GetValueAsync(args.Create!.ToOutput());
        Assert.Equal(HostCommands.Backup(new BackupSettings("/srv/restic/devvm", 14, 4, 6, "*-*-* 03:00:00")), create);
        Assert.Equal(create, await OutputUtilities.GetValueAsync(args.Update!.ToOutput()));
        Assert.Null(args.Delete);
        Assert.DoesNotContain(Password, create, StringComparison.Ordinal);

        // The config adapter hands the secret out as a plain output: the program must mark it.
        var stdin = args.Stdin!.ToOutput();
        Assert.Equal(Password, await OutputUtilities.GetValueAsync(stdin));
        Assert.True(await Output.IsSecretAsync(stdin));
        Assert.Equal(Logging.None, await OutputUtilities.GetValueAsync(args.Logging!.ToOutput()));
        Assert.Subset(((CustomResourceOptions)step.Options).AdditionalSecretOutputs.ToHashSet(), new HashSet<string> { "stdin", "stdout", "stderr" });
        // After the base (restic comes with it), as a child of the base component.
        Assert.IsType<WorkstationBase>(step.Options.Parent);
        var @base = (WorkstationBase)step.Options.Parent!;
        Assert.Equal([@base.Base], await Probe.DependsOnAsync(step));
    }

    [Fact]
    public async Task The_password_reaches_no_other_resource_and_no_command_line()
    {
        var run = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(WithBackup()), Fixture.Bundle).Outputs);
        foreach (var r in run.Registrations.Where(r => !(r.Type == Types.Command && r.Name == "workstation-backup")))
            Assert.DoesNotContain(Password, r.Canonical, StringComparison.Ordinal);
        var backup = run.Command("workstation-backup");
        Assert.DoesNotContain(Password, Canonicalizer.Write(backup.Inputs.Remove("stdin")), StringComparison.Ordinal);
        Assert.DoesNotContain(Password, backup.Str("create"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ConfigKeys.BackupPassword, null, "workstation:backupPassword: required with workstation:backupRepository")]
    [InlineData(ConfigKeys.BackupRepository, "relative/repo", "workstation:backupRepository: 'relative/repo' is not a restic repository")]
    [InlineData(ConfigKeys.BackupKeepDaily, "-1", "workstation:backupKeepDaily: '-1' is not a count (0-9999)")]
    [InlineData(ConfigKeys.BackupOnCalendar, "daily; reboot", "workstation:backupOnCalendar: 'daily; reboot' is not a systemd calendar expression")]
    public void A_bad_backup_setting_is_refused_with_its_key(string key, string? value, string expected)
    {
        var (settings, errors) = StackSettings.Load(WithBackup().With(key, value));
        Assert.Null(settings);
        Assert.Contains(errors, e => e.ToString().StartsWith(expected, StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.ToString().Contains(Password, StringComparison.Ordinal));
    }

    [Fact]
    public void A_retention_that_keeps_nothing_is_refused()
    {
        var config = WithBackup().With(ConfigKeys.BackupKeepDaily, "0").With(ConfigKeys.BackupKeepWeekly, "0").With(ConfigKeys.BackupKeepMonthly, "0");
        var (settings, errors) = StackSettings.Load(config);
        Assert.Null(settings);
        Assert.Contains(errors, e => e.ToString().Contains("a retention that keeps nothing", StringComparison.Ordinal));
    }
}

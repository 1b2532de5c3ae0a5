using System.Diagnostics;
using System.Globalization;

namespace Workstation.Tests;

/// <summary>
/// Issue 26 §9: the stack's number ranges at their limits, one below and one above. Where the
/// host re-checks one (the base step's --swappiness, the site's --restart-idle-minutes, the
/// secrets step's --rotate), the host's own check runs on the same value, locally in bash on the
/// repository's host/lib, and must say the same as the stack.
/// </summary>
public class StackLimitTests
{
    /// <summary>The stack's errors for the fixture config with <paramref name="key"/> set to <paramref name="value"/>.</summary>
    private static IReadOnlyList<string> ErrorsWith(string key, string value) =>
        StackSettings.Load(Fixture.Config().With(key, value)).Errors.Where(e => e.Key.StartsWith(key, StringComparison.Ordinal)).Select(e => e.Message).ToList();

    /// <summary>The exit code of SCRIPT run after host/lib's common.sh, validate.sh and then <paramref name="lib"/>.sh (if any) are sourced, with VALUE as $1.</summary>
    private static int Host(string? lib, string script, string value)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", $"set -euo pipefail; for f in common validate {lib}; do source \"$0/lib/$f.sh\"; done; {script}", Repo.HostDir, value })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        _ = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode;
    }

    private static void Agree(bool stack, int host, string what)
    {
        Assert.True(stack == (host == 0), $"the stack says {(stack ? "valid" : "invalid")}, the host exits {host} for {what}");
        if (!stack) Assert.Equal(2, host);
    }

    private static string N(int n) => n.ToString(CultureInfo.InvariantCulture);

    public static TheoryData<string, int> Ranged()
    {
        var data = new TheoryData<string, int>();
        foreach (var v in new[] { Rules.MinSwappiness, Rules.MinSwappiness + 1, Rules.MaxSwappiness - 1, Rules.MaxSwappiness, Rules.MaxSwappiness + 1, 1000 })
            data.Add(ConfigKeys.Swappiness, v);
        foreach (var v in new[] { 0, 1, Rules.DefaultRestartIdleMinutes, Rules.MaxRestartIdleMinutes - 1, Rules.MaxRestartIdleMinutes, Rules.MaxRestartIdleMinutes + 1, 99999 })
            data.Add(ConfigKeys.RestartIdleMinutes, v);
        return data;
    }

    /// <summary>swappiness (0-200) and restartIdleMinutes (0-1440): the stack and the host's valid_range on the generated bounds.</summary>
    [Theory]
    [MemberData(nameof(Ranged))]
    public void Rule_the_host_takes_a_ranged_setting_exactly_when_the_stack_does(string key, int value)
    {
        var stack = ErrorsWith(key, N(value)).Count == 0;
        var (min, max, check) = key == ConfigKeys.Swappiness
            ? (Rules.MinSwappiness, Rules.MaxSwappiness, "valid_range \"$1\" \"$WS_MIN_SWAPPINESS\" \"$WS_MAX_SWAPPINESS\" --swappiness")
            : (0, Rules.MaxRestartIdleMinutes, "valid_range \"$1\" 0 \"$WS_MAX_RESTART_IDLE_MINUTES\" --restart-idle-minutes");
        Assert.Equal(value >= min && value <= max, stack);
        Agree(stack, Host(null, check, N(value)), $"{key} {value}");
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("1.5")]
    [InlineData(" 1")]
    public void Rule_a_ranged_setting_that_is_no_whole_number_is_refused_on_both_sides(string text)
    {
        Assert.NotEmpty(ErrorsWith(ConfigKeys.Swappiness, text));
        Agree(false, Host(null, "valid_range \"$1\" \"$WS_MIN_SWAPPINESS\" \"$WS_MAX_SWAPPINESS\" --swappiness", text), $"swappiness '{text}'");
    }

    public static TheoryData<int> Serials() => [0, 1, Rules.MaxRotationSerial - 1, Rules.MaxRotationSerial, Rules.MaxRotationSerial + 1, int.MaxValue];

    /// <summary>A rotation serial (0-999999): the stack's rotate and the host's --rotate NAME=SERIAL (secrets.sh parse_rotate).</summary>
    [Theory]
    [MemberData(nameof(Serials))]
    public void Rule_the_host_takes_a_rotation_serial_exactly_when_the_stack_does(int serial)
    {
        var stack = ErrorsWith(ConfigKeys.Rotate, $"{{\"beads-key\": {N(serial)}}}").Count == 0;
        Assert.Equal(serial is >= 0 and <= Rules.MaxRotationSerial, stack);
        Agree(stack, Host("secrets", "declare -A rot=(); parse_rotate \"beads-key=$1\" rot; [[ \"${rot[beads-key]}\" == \"$1\" ]]", N(serial)), $"serial {serial}");
    }

    public static TheoryData<int> Counts() => [-1, 0, 1, 9998, 9999, 10000];

    /// <summary>The backup's retention counts (0-9999 each; the host's backup apply reads at most four digits).</summary>
    [Theory]
    [MemberData(nameof(Counts))]
    public void Rule_a_backup_retention_count_is_0_to_9999(int value)
    {
        var (count, ok) = (N(value), value is >= 0 and <= 9999);
        var config = Fixture.Config().With(ConfigKeys.BackupRepository, "/srv/restic").With(ConfigKeys.BackupPassword, "pw").With(ConfigKeys.BackupKeepWeekly, count);
        var errors = StackSettings.Load(config).Errors.Where(e => e.Key == ConfigKeys.BackupKeepWeekly).ToList();
        Assert.Equal(ok, errors.Count == 0);
    }
}

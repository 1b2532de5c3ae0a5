using System.Diagnostics;
using Workstation.Roster;

namespace Host.Tests;

/// <summary>
/// Pressure you can see: the sample workstation-pressure.timer takes (PSI, free disk, memory per
/// person's slice) is valid Prometheus text, as `promtool check metrics` reads it, and a crossed
/// threshold is a warning in the journal.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class PressureTests(SandboxFixture box)
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_sample_passes_promtool_and_a_crossed_threshold_is_a_journal_warning()
    {
        await HostWorld.ReadyAsync(box);
        var psi = new TestUser("psi", 2199, 4199, 4299);
        await box.MustAsync(psi.Apply(), stdin: psi.TokenStdin, timeout: Bounded);

        // The base enabled the timer; a sample by hand into a scratch folder, every threshold crossable.
        Assert.Equal("enabled,active", (await box.MustAsync(
            "echo \"$(systemctl is-enabled workstation-pressure.timer),$(systemctl is-active workstation-pressure.timer)\"")).Stdout.Trim());
        var sample = await box.MustAsync(HostCommands.Manual.PressureSample("/var/tmp/ws-prom", diskFreeWarn: 100), timeout: Bounded);
        Assert.Contains("workstation: warning: / has ", sample.Stderr, StringComparison.Ordinal);
        Assert.Contains("free (threshold 100%)", sample.Stderr, StringComparison.Ordinal);
        var text = (await box.MustAsync("cat /var/tmp/ws-prom/workstation.prom")).Stdout;

        Assert.Contains("workstation_pressure_avg10_percent{resource=\"memory\",kind=\"some\"} ", text, StringComparison.Ordinal);
        Assert.Contains("workstation_pressure_stalled_seconds_total{resource=\"io\",kind=\"full\"} ", text, StringComparison.Ordinal);
        Assert.Contains("workstation_filesystem_free_ratio{mountpoint=\"/home\"} ", text, StringComparison.Ordinal);
        Assert.Matches("(?m)^workstation_user_resident_bytes\\{user=\"psi\"\\} [1-9][0-9]*$", text);
        // psi's budget, the tier's built-in one, as the slice carries it.
        var budget = Budgets.Defaults[Tier.PowerUser];
        Assert.Contains($"workstation_slice_memory_limit_bytes{{user=\"psi\",limit=\"memory_high\"}} {budget.MemoryHigh}\n", text, StringComparison.Ordinal);
        Assert.Contains($"workstation_slice_memory_limit_bytes{{user=\"psi\",limit=\"memory_max\"}} {budget.MemoryMax}\n", text, StringComparison.Ordinal);
        // The slice's own figure needs the memory controller, which a container on this cgroup v1 host
        // does not get (MemoryCurrent is "[not set]"): then the sample leaves that line out, never a wrong one.
        var current = (await box.MustAsync("systemctl show -p MemoryCurrent --value workstation-psi.slice")).Stdout.Trim();
        if (current == "[not set]") Assert.DoesNotContain("workstation_slice_memory_bytes{user=\"psi\"}", text, StringComparison.Ordinal);
        else Assert.Matches("(?m)^workstation_slice_memory_bytes\\{user=\"psi\"\\} [1-9][0-9]*$", text);

        var (code, output) = Promtool(text, "metrics");
        Assert.True(code == 0, $"promtool check metrics: exit {code}\n{output}\n--- metrics ---\n{text}");
        await box.MustAsync("rm -rf /var/tmp/ws-prom");
    }

    /// <summary>The alert rules docs/monitoring.md gives are rules Prometheus loads: `promtool check rules`.</summary>
    [Fact]
    public void The_documented_alert_rules_pass_promtool()
    {
        var doc = File.ReadAllText(Path.Combine(box.RepoRoot, "docs", "monitoring.md"));
        var start = doc.IndexOf("```yaml\ngroups:", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/monitoring.md has no ```yaml block starting with groups:");
        start += "```yaml\n".Length;
        var rules = doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];
        Assert.Contains("workstation_slice_memory_limit_bytes", rules, StringComparison.Ordinal);
        var (code, output) = Promtool(rules, "rules", "/dev/stdin");
        Assert.True(code == 0, $"promtool check rules: exit {code}\n{output}\n--- rules ---\n{rules}");
    }

    /// <summary>`promtool check CHECK...` on this machine (Debian's prometheus package), the text on stdin.</summary>
    private static (int Code, string Output) Promtool(string text, params string[] check)
    {
        var psi = new ProcessStartInfo("promtool") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("check");
        foreach (var word in check) psi.ArgumentList.Add(word);
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(text);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(30)), "promtool did not finish in 30 s");
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}

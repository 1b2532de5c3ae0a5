
namespace Host.Tests;

/// <summary>
/// Pressure you can see: the sample workstation-pressure.timer takes (PSI, free disk, memory per
/// person's slice) is valid Prometheus text, as `promtool check metrics` reads it, and a crossed
/// threshold is a warning in the journal.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class PressureTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(60))
{

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

    /// <summary>
    /// Pressure you can see, out of the box: after `base apply`, Debian's node_exporter runs,
    /// listens on 127.0.0.1:9100 only (not 0.0.0.0, not ::), and serves the pressure sample's
    /// workstation_* metrics from the textfile folder. A stack's listen address moves it there
    /// (the drop-in rewritten, node_exporter restarted), and the same apply again changes nothing.
    /// </summary>
    [Fact]
    public async Task After_base_apply_node_exporter_serves_the_pressure_sample_on_loopback_only()
    {
        await HostWorld.ReadyAsync(box);
        const string Probe = """
            systemctl start workstation-pressure.service
            want=$(cat /tmp/ws-ne-want 2>/dev/null || echo 127.0.0.1:9100)
            # The listening TCP sockets on the two ports the test uses, from /proc (the box has no ss):
            # ADDRESS:PORT for IPv4, [HEX]:PORT for IPv6 ([000…0] is every address).
            listening() {
              awk 'FNR > 1 && $4 == "0A" { split($2, a, ":"); print a[1], a[2] }' /proc/net/tcp /proc/net/tcp6 |
                while read -r h p; do
                  p=$((16#$p))
                  [[ $p == 9100 || $p == 9101 ]] || continue
                  if ((${#h} == 8)); then printf '%d.%d.%d.%d:%d\n' $((16#${h:6:2})) $((16#${h:4:2})) $((16#${h:2:2})) $((16#${h:0:2})) "$p"
                  else printf '[%s]:%d\n' "$h" "$p"; fi
                done | sort | paste -sd,
            }
            for _ in $(seq 1 50); do [[ "$(listening)" == "$want" ]] && break; sleep 0.1; done
            echo "active=$(systemctl is-active prometheus-node-exporter.service)"
            echo "listen=$(listening)"
            m=$(curl -fsS --max-time 5 "http://$want/metrics" || true)
            echo "sample=$(grep -c '^workstation_pressure_sample_timestamp_seconds ' <<<"$m")"
            echo "disk=$(grep -c '^workstation_filesystem_free_ratio{mountpoint="/home"} ' <<<"$m")"
            echo "textfile_error=$(sed -n 's/^node_textfile_scrape_error //p' <<<"$m")"
            """;
        var facts = OnboardingTests.Facts(await box.ScriptAsync("rm -f /tmp/ws-ne-want\n" + Probe, Bounded));
        var all = string.Join(", ", facts.Select(f => $"{f.Key}={f.Value}"));
        Assert.True(facts["active"] == "active", all);
        Assert.True(facts["listen"] == Rules.NodeExporterLoopback, all);
        Assert.True(facts["sample"] == "1", all);
        Assert.True(facts["disk"] == "1", all);
        Assert.True(facts["textfile_error"] == "0", all);

        try
        {
            var moved = await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot, nodeExporter: "127.0.0.2:9101"), timeout: TimeSpan.FromMinutes(5));
            Assert.Contains(moved.Changes(), l => l.Contains("restarted prometheus-node-exporter.service: listening on 127.0.0.2:9101 only", StringComparison.Ordinal));
            facts = OnboardingTests.Facts(await box.ScriptAsync("echo 127.0.0.2:9101 > /tmp/ws-ne-want\n" + Probe, Bounded));
            all = string.Join(", ", facts.Select(f => $"{f.Key}={f.Value}"));
            Assert.True(facts["listen"] == "127.0.0.2:9101", all);
            Assert.True(facts["sample"] == "1", all);
        }
        finally
        {
            await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot), timeout: TimeSpan.FromMinutes(5));
        }
        var again = await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot), timeout: TimeSpan.FromMinutes(5));
        Assert.DoesNotContain(again.Changes(), l => l.Contains("node-exporter", StringComparison.Ordinal));
        facts = OnboardingTests.Facts(await box.ScriptAsync("rm -f /tmp/ws-ne-want\n" + Probe, Bounded));
        Assert.True(facts["listen"] == Rules.NodeExporterLoopback, string.Join(", ", facts.Select(f => $"{f.Key}={f.Value}")));
    }

    /// <summary>
    /// node_exporter's drop-in is a shared file: one another deployer wrote (here, listening on
    /// every address) is refused with its diff before anything is touched, and the stack's
    /// takeOver hands it over: backed up, replaced, node_exporter back on loopback.
    /// </summary>
    [Fact]
    public async Task A_node_exporter_drop_in_another_deployer_wrote_is_refused_until_taken_over()
    {
        await HostWorld.ReadyAsync(box);
        var dropIn = SharedFiles.NodeExporterDropIn;
        const string Theirs = "[Service]\nExecStart=\nExecStart=/usr/bin/prometheus-node-exporter --web.listen-address=:9100\n";
        await box.MustAsync($"mkdir -p {Path.GetDirectoryName(dropIn)} && printf '{Theirs}' > {dropIn}");
        try
        {
            var refused = await box.RunAsync(HostWorld.BaseCommand(box.RepoRoot), timeout: TimeSpan.FromMinutes(5));
            Assert.True(refused.ExitCode == 3, refused.ToString());
            Assert.Contains($"{dropIn} holds content Workstation did not write", refused.Stderr, StringComparison.Ordinal);
            Assert.Contains("--web.listen-address=:9100", refused.Stderr, StringComparison.Ordinal);
            Assert.Contains("listen-address=:9100", (await box.MustAsync($"cat {dropIn}")).Stdout, StringComparison.Ordinal);

            var taken = await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot, takeOver: [dropIn]), timeout: TimeSpan.FromMinutes(5));
            Assert.Contains(taken.Changes(), l => l.Contains($"changed: adopted {dropIn} ", StringComparison.Ordinal));
            Assert.Contains($"--web.listen-address={Rules.NodeExporterLoopback} ", (await box.MustAsync($"cat {dropIn}")).Stdout, StringComparison.Ordinal);
            Assert.Contains($"--web.listen-address={Rules.NodeExporterLoopback} ",
                (await box.MustAsync("tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value prometheus-node-exporter.service)/cmdline")).Stdout, StringComparison.Ordinal);
        }
        finally
        {
            // Ours again for the tests after this one (RunAsync: a failure above stays the one reported).
            await box.RunAsync(HostWorld.BaseCommand(box.RepoRoot, takeOver: [dropIn]), timeout: TimeSpan.FromMinutes(5));
        }
    }

    /// <summary>
    /// nodeExporter: off leaves node_exporter as it is: no drop-in written or removed, no restart,
    /// so turning the key off never widens where a running exporter listens. A listen address
    /// that is not one is refused (exit 2) before anything is touched.
    /// </summary>
    [Fact]
    public async Task Node_exporter_off_leaves_it_as_it_is_and_a_bad_address_is_refused()
    {
        await HostWorld.ReadyAsync(box);
        const string State = "cat /etc/systemd/system/prometheus-node-exporter.service.d/50-workstation.conf; systemctl show -p MainPID --value prometheus-node-exporter.service";
        var before = (await box.MustAsync(State)).Stdout;
        var off = await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot, nodeExporter: "off"), timeout: TimeSpan.FromMinutes(5));
        Assert.DoesNotContain(off.Changes(), l => l.Contains("node-exporter", StringComparison.Ordinal));
        Assert.Equal(before, (await box.MustAsync(State)).Stdout);

        var bad = await box.RunAsync(HostWorld.BaseCommand(box.RepoRoot, nodeExporter: "0.0.0.0"), timeout: TimeSpan.FromMinutes(1));
        Assert.True(bad.ExitCode == 2, bad.ToString());
        Assert.Contains("--node-exporter 0.0.0.0: loopback, off, or a listen address ADDRESS:PORT (IPv4)", bad.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, (await box.MustAsync(State)).Stdout);
    }

    /// <summary>The alert rules ship as a file (host/monitoring, installed with host/) that Prometheus loads: `promtool check rules`.</summary>
    [Fact]
    public void The_shipped_alert_rules_pass_promtool()
    {
        var path = Path.Combine(box.RepoRoot, "host", "monitoring", "workstation-alerts.yml");
        var rules = File.ReadAllText(path);
        Assert.Contains("workstation_slice_memory_limit_bytes", rules, StringComparison.Ordinal);
        Assert.Contains("workstation_pressure_sample_timestamp_seconds", rules, StringComparison.Ordinal);
        var (code, output) = Promtool(rules, "rules", "/dev/stdin");
        Assert.True(code == 0, $"promtool check rules {path}: exit {code}\n{output}");
        Assert.Contains("SUCCESS: 8 rules found", output, StringComparison.Ordinal);
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

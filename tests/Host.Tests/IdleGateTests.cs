
namespace Host.Tests;

/// <summary>
/// The idle gate: a running service whose config changed restarts only once its person has been
/// keystroke-idle long enough (site default: 20 minutes). Until then it keeps serving on its old
/// port, which the firewall keeps guarding, `user status` says "restart pending", and the timer's
/// `restart pending` retries. Idle is read from the person's terminals (the ptys they own).
/// </summary>
[Collection(SandboxCollection2.Name)]
public sealed class IdleGateTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(60))
{
    private static readonly TestUser Idl = new("idl", 2341, 4341, 4441);
    private static readonly TestUser Moved = Idl with { PlaywrightPort = 4442 };

    /// <summary>Waits until PORT answers an MCP POST from idl; prints "up PORT" or "down PORT".</summary>
    private static string Answers(int port) => $$"""
        for _ in $(seq 1 60); do
          if runuser -u idl -- curl -sS -m 3 -o /dev/null -X POST http://127.0.0.1:{{port}}/mcp -H 'Content-Type: application/json' \
            -H 'Accept: application/json, text/event-stream' -d '{}' 2>/dev/null; then echo "up {{port}}"; exit 0; fi
          sleep 0.5
        done
        echo "down {{port}}"
        """;

    private Task<string> PidAsync() => box.ScriptAsync("systemctl show -p MainPID --value playwright-mcp@idl.service");

    [Fact]
    public async Task A_port_change_waits_while_the_person_types_keeps_the_old_port_guarded_and_lands_once_they_are_idle()
    {
        await box.OnboardAsync(Idl, Bounded);
        Assert.Equal("up 4441", (await box.ScriptAsync(Answers(4441), Bounded)).Trim());
        Assert.Equal("enabled", (await box.ScriptAsync("systemctl is-enabled workstation-restart-pending.timer")).Trim());
        // The test fires the timer's service itself, so the minute tick can't race it.
        await using (await box.GateByHandAsync("ws-idl-term", then: Idl.Suspend()))
        {
            // A terminal of idl's, typed in just now.
            var pts = (await box.ScriptAsync(HostWorld.OpenTypedTerminal("idl", "ws-idl-term"))).Trim();
            var pid = await PidAsync();

            var moved = await box.MustAsync(HostCommands.Services(Moved.Derived()), timeout: Bounded);
            Assert.Contains("restart pending: playwright-mcp@idl.service (its port moves from 4441 to 4442)", moved.Stdout, StringComparison.Ordinal);
            Assert.Contains("it waits for 1200s of idle", moved.Stdout, StringComparison.Ordinal);
            Assert.Equal(pid, await PidAsync());
            Assert.Equal("up 4441", (await box.ScriptAsync(Answers(4441), Bounded)).Trim());
            Assert.Contains("\"restart_pending\":[\"playwright-mcp@idl.service\"]", (await box.MustAsync(Idl.Status())).Stdout, StringComparison.Ordinal);
            Assert.Contains("restart pending: playwright-mcp@idl.service", (await box.MustAsync(HostCommands.Manual.Status("idl").Replace(" --json", "", StringComparison.Ordinal))).Stdout, StringComparison.Ordinal);

            // Attack: while it waits, the old port is still idl's alone.
            var intruder = await box.RunAsync("runuser -u nobody -- curl -sS -m 3 -o /dev/null -X POST http://127.0.0.1:4441/mcp -d '{}'", timeout: Bounded);
            Assert.NotEqual(0, intruder.ExitCode);

            // The timer's retry while idl is still typing: nothing moves.
            await box.ScriptAsync($"touch -a {pts}");
            var early = await box.MustAsync(HostCommands.Manual.RestartPending, timeout: Bounded);
            Assert.Empty(early.Changes());
            Assert.Equal(pid, await PidAsync());

            // Half an hour without a keystroke: the timer's service restarts it, on the new port.
            await box.ScriptAsync($"touch -a -d '30 minutes ago' {pts}");
            var late = await box.ScriptAsync("systemctl start workstation-restart-pending.service; journalctl -u workstation-restart-pending.service -n 20 --no-pager -o cat", Bounded);
            Assert.Contains("restarted playwright-mcp@idl.service with its new config (idl idle 18", late, StringComparison.Ordinal);
            Assert.NotEqual(pid, await PidAsync());
            Assert.Equal("up 4442", (await box.ScriptAsync(Answers(4442), Bounded)).Trim());
            Assert.Contains("\"restart_pending\":[]", (await box.MustAsync(Idl.Status())).Stdout, StringComparison.Ordinal);
            Assert.Empty((await box.MustAsync(HostCommands.Services(Moved.Derived()), timeout: Bounded)).Changes());

            // No terminal at all: idle, so a change restarts at once, within the step.
            await box.ScriptAsync("systemctl stop ws-idl-term");
            var back = await box.MustAsync(HostCommands.Services(Idl.Derived()), timeout: Bounded);
            Assert.Contains(back.Changes(), l => l.Contains("restarted playwright-mcp@idl.service with its new config", StringComparison.Ordinal));
            Assert.Equal("up 4441", (await box.ScriptAsync(Answers(4441), Bounded)).Trim());
        }
    }
    private static readonly TestUser Idf = new("idf", 2503, 4503, 4603);

    /// <summary>
    /// Attack (issue 25 §6): idf owns their pty and sets its access time a day ahead. The gate
    /// clamps it to now (typed just now), so the restart waits; it never reads as "idle since
    /// the epoch", which restarted at once, mid-sentence.
    /// </summary>
    [Fact]
    public async Task A_pty_access_time_set_in_the_future_counts_as_typing_now()
    {
        await box.OnboardAsync(Idf, Bounded);
        await using (await box.GateByHandAsync("ws-idf-term", then: Idf.Suspend()))
        {
            var pts = (await box.ScriptAsync(HostWorld.OpenTypedTerminal("idf", "ws-idf-term"))).Trim();
            // As idf: their own pty, its access time a day ahead.
            await box.ScriptAsync($"runuser -u idf -- touch -a -d '+1 day' {pts}");
            var moved = await box.MustAsync(HostCommands.Services((Idf with { PlaywrightPort = 5114 }).Derived()), timeout: Bounded);
            Assert.Contains("restart pending: playwright-mcp@idf.service (idf typed 0s ago; it waits for 1200s of idle)", moved.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain(moved.Changes(), l => l.Contains("restarted playwright-mcp@idf.service", StringComparison.Ordinal));
        }
    }

    /// <summary>Issue 24 §9: a person whose agent talks to their server is not idle, whatever the keyboard says.</summary>
    private static readonly TestUser Ses = new("ses", 2345, 4345, 4445);

    [Fact]
    public async Task S9_An_agent_holding_a_connection_delays_the_restart_and_when_it_ends_the_restart_happens()
    {
        await box.OnboardAsync(Ses, Bounded);
        const string Pid = "systemctl show -p MainPID --value playwright-mcp@ses.service";
        await using (await box.GateByHandAsync("ws-ses-agent", then: Ses.Suspend()))
        {
            // No terminal (keystroke-idle for ever), but an agent of ses's holds a connection to their playwright port.
            Assert.Equal("held", (await box.ScriptAsync("""
                systemctl reset-failed ws-ses-agent 2>/dev/null || true
                for _ in $(seq 1 40); do runuser -u ses -- bash -c 'exec 3<>/dev/tcp/127.0.0.1/4445' 2>/dev/null && break; sleep 0.25; done
                systemd-run --quiet --unit ws-ses-agent -p User=ses bash -c 'exec 3<>/dev/tcp/127.0.0.1/4445; sleep 300'
                for _ in $(seq 1 40); do
                  awk 'FNR > 1 && $4 == "01" && $2 ~ /:115D$/' /proc/net/tcp /proc/net/tcp6 | grep -q . && { echo held; exit 0; }
                  sleep 0.25
                done
                echo none
                """, Bounded)).Trim());
            var pid = await box.ScriptAsync(Pid);

            var moved = await box.MustAsync(HostCommands.Services((Ses with { PlaywrightPort = 4446 }).Derived()), timeout: Bounded);
            await box.HoldTimerAgainAsync();
            Assert.Contains("restart pending: playwright-mcp@ses.service (ses has 1 open session(s) on their t3 or playwright port; it waits for them to end)", moved.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain(moved.Changes(), l => l.Contains("restarted playwright-mcp@ses.service", StringComparison.Ordinal));
            Assert.Equal(pid, await box.ScriptAsync(Pid));
            var early = await box.MustAsync(HostCommands.Manual.RestartPending, timeout: Bounded);
            Assert.Empty(early.Changes());
            Assert.Equal(pid, await box.ScriptAsync(Pid));

            // The agent's turn ends: the next round restarts it, on the new port.
            await box.ScriptAsync("systemctl stop ws-ses-agent");
            var late = await box.MustAsync(HostCommands.Manual.RestartPending, timeout: Bounded);
            Assert.Contains(late.Changes(), l => l.Contains("restarted playwright-mcp@ses.service with its new config", StringComparison.Ordinal));
            Assert.NotEqual(pid, await box.ScriptAsync(Pid));
        }
    }
}

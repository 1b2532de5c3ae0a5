
namespace Host.Tests;

/// <summary>
/// The one-time migration of a hand-made per-user playwright unit (the seed's wizard, emo and
/// ancamilea on 8931–8933): the routine services step refuses while it holds the port; the
/// migration, only when the person is idle, records it, stops it in their own manager, starts
/// the system instance on the same port and checks that MCP answers; the rollback brings it back.
/// </summary>
[Collection(SandboxCollection3.Name)]
public sealed class MigrateTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(90))
{
    private static readonly TestUser Mig = new("mig", 2371, 4371, 4481);

    /// <summary>As mig, in their own systemd --user manager (lingering, so it runs without a login).</summary>
    private const string UserCtl = "runuser -u mig -- env XDG_RUNTIME_DIR=/run/user/2371 systemctl --user";

    private static string Answers(string what) => $$"""
        for _ in $(seq 1 60); do
          {{what}} && { echo up; exit 0; }
          sleep 0.5
        done
        echo down
        """;

    private const string HandmadeServes = "runuser -u mig -- curl -fsS -m 3 -o /dev/null http://127.0.0.1:4481/";

    [Fact]
    public async Task A_handmade_unit_blocks_the_routine_step_gives_way_only_when_idle_and_the_rollback_brings_it_back()
    {
        await HostWorld.ReadyAsync(box);
        var steps = Mig.Apply(tokenStdin: false);
        await box.MustAsync(steps.Account, timeout: Bounded);
        await box.MustAsync(steps.Code, timeout: Bounded);
        try
        {
            // The hand-made setup: a per-user unit on the port the roster pins, enabled and running.
            await box.ScriptAsync($$"""
                set -euo pipefail
                loginctl enable-linger mig
                for _ in $(seq 1 60); do systemctl is-active --quiet user@2371.service && break; sleep 0.5; done
                runuser -u mig -- sh -ec 'mkdir -p ~/.config/systemd/user
                  printf "[Service]\nExecStart=/usr/bin/python3 -m http.server 4481 --bind 127.0.0.1\n[Install]\nWantedBy=default.target\n" > ~/.config/systemd/user/playwright-mcp.service'
                {{UserCtl}} daemon-reload
                {{UserCtl}} enable --now playwright-mcp.service
                """, Bounded);
            Assert.Equal("up", (await box.ScriptAsync(Answers(HandmadeServes), Bounded)).Trim());

            // The routine step: refused for mig, naming the hand-made unit.
            var routine = await box.RunAsync(steps.Services, timeout: Bounded);
            Assert.Equal(1, routine.ExitCode);
            Assert.Matches(@"port 4481 is held by pid \d+ \(python3, user mig, unit playwright-mcp\.service\)", routine.Stderr);

            // A terminal typed in just now: the migration waits, nothing changes.
            await box.ScriptAsync(HostWorld.OpenTypedTerminal("mig", "ws-mig-term"));
            var busy = await box.RunAsync(HostCommands.Manual.Migrate(Mig.Derived()), timeout: Bounded);
            Assert.Equal(3, busy.ExitCode);
            Assert.Equal("active enabled", (await box.ScriptAsync($"echo \"$({UserCtl} is-active playwright-mcp.service) $({UserCtl} is-enabled playwright-mcp.service)\"")).Trim());
            await box.ScriptAsync("systemctl stop ws-mig-term");

            // A migration that can't finish (here: something else holds mig's t3 port) puts everything back.
            await box.ScriptAsync("""
                systemd-run --quiet --unit ws-mig-squat -p User=nobody python3 -m http.server 4371 --bind 127.0.0.1
                for _ in $(seq 1 40); do curl -sS -m 2 -o /dev/null http://127.0.0.1:4371/ && exit 0; sleep 0.25; done
                exit 1
                """);
            var failed = await box.RunAsync(HostCommands.Manual.Migrate(Mig.Derived()), timeout: Bounded);
            Assert.Equal(1, failed.ExitCode);
            Assert.Contains("the migration of mig was rolled back: the services step failed", failed.Stderr, StringComparison.Ordinal);
            Assert.Equal("active enabled no-record", (await box.ScriptAsync(
                $"echo \"$({UserCtl} is-active playwright-mcp.service) $({UserCtl} is-enabled playwright-mcp.service) $(test -e /var/lib/workstation/migrate/mig && echo record || echo no-record)\"")).Trim());
            await box.ScriptAsync("systemctl stop ws-mig-squat");

            // Idle: the per-user unit gives way and the system instance answers MCP on the same port.
            var migrated = await box.MustAsync(HostCommands.Manual.Migrate(Mig.Derived()), timeout: Bounded);
            Assert.Contains(migrated.Changes(), l => l.EndsWith("stopped and disabled mig's per-user playwright-mcp.service", StringComparison.Ordinal));
            Assert.Contains("playwright-mcp@mig answers on 4481", migrated.Stdout, StringComparison.Ordinal);
            Assert.Equal("inactive disabled active", (await box.ScriptAsync(
                $"echo \"$({UserCtl} is-active playwright-mcp.service || true) $({UserCtl} is-enabled playwright-mcp.service || true) $(systemctl is-active playwright-mcp@mig.service)\"")).Trim());
            // From now on the routine step runs, and changes nothing.
            Assert.Empty((await box.MustAsync(steps.Services, timeout: Bounded)).Changes());

            // The rollback: the system instance off, the hand-made unit enabled and serving again.
            await box.MustAsync(HostCommands.Manual.MigrateRollback("mig"), timeout: Bounded);
            Assert.Equal("active enabled inactive", (await box.ScriptAsync(
                $"echo \"$({UserCtl} is-active playwright-mcp.service || true) $({UserCtl} is-enabled playwright-mcp.service || true) $(systemctl is-active playwright-mcp@mig.service || true)\"")).Trim());
            Assert.Equal("up", (await box.ScriptAsync(Answers(HandmadeServes), Bounded)).Trim());
            Assert.Empty((await box.MustAsync(HostCommands.Manual.MigrateRollback("mig"), timeout: Bounded)).Changes());
        }
        finally
        {
            // Nothing hand-made is left for the other tests' adopt plans to find.
            await box.RunAsync($"systemctl stop ws-mig-term ws-mig-squat 2>/dev/null; systemctl reset-failed ws-mig-term ws-mig-squat 2>/dev/null; {UserCtl} disable --now playwright-mcp.service 2>/dev/null; " +
                "loginctl disable-linger mig; rm -rf /var/lib/workstation/migrate/mig /home/mig/.config/systemd/user; true", timeout: Bounded);
            await box.MustAsync(Mig.Suspend());
        }
    }

    /// <summary>Attack: the person plants their per-user unit as a link to a root-only file; nothing of it is copied anywhere.</summary>
    [Fact]
    public async Task A_unit_file_linked_to_a_root_only_file_is_refused_before_anything_is_recorded()
    {
        await HostWorld.ReadyAsync(box);
        var mig2 = new TestUser("mig2", 2372, 4372, 4482);
        var steps = mig2.Apply(tokenStdin: false);
        await box.MustAsync(steps.Account, timeout: Bounded);
        try
        {
            await box.ScriptAsync("runuser -u mig2 -- sh -ec 'mkdir -p ~/.config/systemd/user; ln -sfn /etc/shadow ~/.config/systemd/user/playwright-mcp.service'");
            var refused = await box.RunAsync(HostCommands.Manual.Migrate(mig2.Derived()), timeout: Bounded);
            Assert.Equal(3, refused.ExitCode);
            Assert.Contains("/home/mig2/.config/systemd/user/playwright-mcp.service is a link", refused.Stderr, StringComparison.Ordinal);
            Assert.Equal("no-record", (await box.ScriptAsync("test -e /var/lib/workstation/migrate/mig2 && echo record || echo no-record")).Trim());
            Assert.Equal("", (await box.ScriptAsync("grep -rl '^root:' /var/lib/workstation/migrate 2>/dev/null || true")).Trim());
        }
        finally
        {
            await box.RunAsync("rm -rf /var/lib/workstation/migrate/mig2 /home/mig2/.config/systemd/user; true");
            await box.MustAsync(mig2.Suspend());
        }
    }
}

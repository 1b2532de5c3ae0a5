namespace Host.Tests;

/// <summary>
/// Coexistence with a hand-made setup: a port the roster pins for a person but something else
/// listens on (a hand-made per-user unit, another process) fails that person's services step
/// before it changes anything, naming the holder; everyone else's step still runs.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class PortHolderTests(SandboxFixture box)
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(60);
    private static readonly TestUser Prt = new("prt", 2361, 4361, 4461);
    private static readonly TestUser Oth = new("oth", 2362, 4362, 4462);

    [Fact]
    public async Task A_port_held_by_another_process_fails_only_that_persons_step_naming_the_holder()
    {
        await HostWorld.ReadyAsync(box);
        var prt = Prt.Apply(tokenStdin: false);
        await box.MustAsync(prt.Account, timeout: Bounded);
        await box.MustAsync(prt.Code, timeout: Bounded);
        try
        {
            await box.ScriptAsync("""
                systemd-run --quiet --unit ws-squat -p User=nobody python3 -m http.server 4461 --bind 127.0.0.1
                for _ in $(seq 1 40); do curl -sS -m 2 -o /dev/null http://127.0.0.1:4461/ && exit 0; sleep 0.25; done
                exit 1
                """);
            var refused = await box.RunAsync(prt.Services, timeout: Bounded);
            Assert.Equal(1, refused.ExitCode);
            Assert.Matches(@"prt's services can't start: port 4461 is held by pid \d+ \(python3, user nobody, unit ws-squat\.service\)\.", refused.Stderr);
            // Nothing of the step happened: no port file, the unit not started.
            Assert.Equal("no-port-file inactive", (await box.ScriptAsync(
                "printf '%s ' \"$(test -e /etc/workstation/playwright-prt.env && echo port-file || echo no-port-file)\"; systemctl is-active playwright-mcp@prt.service || true")).Trim());

            // Someone else's step is not held up.
            await box.MustAsync(Oth.Apply(tokenStdin: false), timeout: Bounded);

            // Once the holder is gone the same step runs, and its own running unit never counts as a holder.
            await box.ScriptAsync("systemctl stop ws-squat");
            await box.MustAsync(prt.Services, timeout: Bounded);
            await box.ScriptAsync("""
                for _ in $(seq 1 60); do runuser -u prt -- curl -sS -m 3 -o /dev/null -X POST http://127.0.0.1:4461/mcp -d '{}' 2>/dev/null && exit 0; sleep 0.5; done
                exit 1
                """, Bounded);
            Assert.Empty((await box.MustAsync(prt.Services, timeout: Bounded)).Changes());
        }
        finally
        {
            await box.RunAsync("systemctl stop ws-squat 2>/dev/null; systemctl reset-failed ws-squat 2>/dev/null; true");
            await box.MustAsync(Prt.Suspend());
            await box.MustAsync(Oth.Suspend());
        }
    }
}

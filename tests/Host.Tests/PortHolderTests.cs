
namespace Host.Tests;

/// <summary>
/// Coexistence with a hand-made setup: a port the roster pins for a person but something else
/// listens on (a hand-made per-user unit, another process) fails that person's services step
/// before it changes anything, naming the holder; everyone else's step still runs.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class PortHolderTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(60))
{
    private static readonly TestUser Prt = new("prt", 2361, 4361, 4461);
    private static readonly TestUser Oth = new("oth", 2362, 4362, 4462);

    private static readonly TestUser Mal = TestUser.Numbered("phm", 2501, 4501);
    private static readonly TestUser Vic = TestUser.Numbered("phv", 2502, 4502);
    private static readonly TestUser Fds = TestUser.Numbered("pfd", 2620, 4720);

    /// <summary>
    /// Attack (issue 25 §6): phm, in their own systemd --user manager, runs a unit named after
    /// phv's t3 unit on phv's t3 port, and squats phv's playwright port with a process whose
    /// name holds a newline and a forged "workstation: " line. Neither passes as phv's own: the
    /// check compares the holder's uid and the kernel's member list of phv's unit's cgroup, not a
    /// name; and the process name reaches root's message quoted, on the error's own line.
    /// </summary>
    [Fact]
    public async Task A_persons_own_unit_named_after_someone_elses_is_not_theirs_and_a_process_name_cannot_forge_a_line()
    {
        await HostWorld.ReadyAsync(box);
        var vic = Vic.Apply(tokenStdin: false);
        await box.MustAsync(Mal.Apply(tokenStdin: false).Account, timeout: Bounded);
        await box.MustAsync(vic.Account, timeout: Bounded);
        await box.MustAsync(vic.Code, timeout: Bounded);
        try
        {
            await box.ScriptAsync("""
                set -euo pipefail
                loginctl enable-linger phm
                for _ in $(seq 1 60); do systemctl is-active --quiet user@2501.service && break; sleep 0.5; done
                runuser -u phm -- env XDG_RUNTIME_DIR=/run/user/2501 systemd-run --user --quiet --unit t3-serve@phv \
                  python3 -m http.server 4502 --bind 127.0.0.1
                systemd-run --quiet --unit ws-forge -p User=phm python3 -c '
                import ctypes, http.server
                ctypes.CDLL(None).prctl(15, b"x\nworkstation: ", 0, 0, 0)
                http.server.HTTPServer(("127.0.0.1", 4602), http.server.SimpleHTTPRequestHandler).serve_forever()'
                for p in 4502 4602; do
                  for _ in $(seq 1 40); do curl -sS -m 2 -o /dev/null http://127.0.0.1:$p/ && continue 2; sleep 0.25; done
                  exit 1
                done
                """, Bounded);
            var refused = await box.RunAsync(vic.Services, timeout: Bounded);
            Assert.Equal(1, refused.ExitCode);
            Assert.Matches(@"port 4502 is held by pid \d+ \(python3, user phm, unit t3-serve@phv\.service\)", refused.Stderr);
            Assert.Matches(@"port 4602 is held by pid \d+ \(\$'x\\nworkstation: ', user phm, unit ws-forge\.service\)", refused.Stderr);
            // One message, one line: the process name added none.
            Assert.Single(refused.Stderr.Split('\n'), l => l.StartsWith("workstation:", StringComparison.Ordinal));
            Assert.Equal("inactive", (await box.ScriptAsync("systemctl is-active t3-serve@phv.service || true")).Trim());
        }
        finally
        {
            await box.RunAsync("systemctl stop ws-forge 2>/dev/null; systemctl reset-failed ws-forge 2>/dev/null; " +
                "runuser -u phm -- env XDG_RUNTIME_DIR=/run/user/2501 systemctl --user stop t3-serve@phv 2>/dev/null; loginctl disable-linger phm; true");
            await box.MustAsync(Mal.Suspend());
            await box.MustAsync(Vic.Suspend());
        }
    }

    /// <summary>
    /// Attack (issue 26 §8): pfd holds as many open descriptors as their hard limit lets them
    /// (the sandbox's: 20,000). Who holds a port is read from the descriptor links of every
    /// process on the box; a process started per descriptor (as a
    /// readlink each was) would make every services step on the box take minutes. A re-run of
    /// pfd's own step, whose ports their own units hold, stays within seconds.
    /// </summary>
    [Fact]
    public async Task A_person_holding_many_descriptors_does_not_slow_anyones_port_holder_check()
    {
        await HostWorld.ReadyAsync(box);
        var pfd = Fds.Apply(tokenStdin: false);
        await box.MustAsync(pfd.Script(stdin: null), timeout: Bounded);
        try
        {
            await box.ScriptAsync("""
                set -euo pipefail
                systemd-run --quiet --unit ws-fds -p User=pfd python3 -c '
                import os, resource, time
                soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
                fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(min(hard - 100, 20000))]
                time.sleep(3600)'
                for _ in $(seq 1 60); do
                  pid=$(systemctl show -p MainPID --value ws-fds)
                  [ "$pid" != 0 ] && [ "$(ls /proc/$pid/fd 2>/dev/null | wc -l)" -ge 19000 ] && exit 0
                  sleep 0.5
                done
                exit 1
                """, Bounded);
            var clock = Stopwatch.StartNew();
            var again = await box.MustAsync(pfd.Services, timeout: Bounded);
            clock.Stop();
            Assert.Empty(again.Changes());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"a no-op services step took {clock.Elapsed.TotalSeconds:F1} s beside 19,000 descriptors or more");
        }
        finally
        {
            await box.RunAsync("systemctl stop ws-fds 2>/dev/null; systemctl reset-failed ws-fds 2>/dev/null; true");
            await box.MustAsync(Fds.Suspend());
        }
    }

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


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
    private static readonly TestUser Own = TestUser.Numbered("pho", 2860, 6260);
    private static readonly TestUser Mov = TestUser.Numbered("phq", 2861, 6261);
    private static readonly TestUser Hid = new("phx", 2862, 6262, 6363);
    private static readonly TestUser Hvi = new("phy", 2863, 6263, 6364);

    /// <summary>The box ready and WHO onboarded (their three steps); their steps, for the test's re-runs.</summary>
    private async Task<HostSteps> OnboardedAsync(TestUser who)
    {
        await HostWorld.ReadyAsync(box);
        var steps = who.Apply(tokenStdin: false);
        await box.MustAsync(steps.Script(stdin: null), timeout: Bounded);
        return steps;
    }

    /// <summary>COMMAND run on the box, and how long it took (wall clock, SSH included).</summary>
    private async Task<(SshResult Result, TimeSpan Took)> TimedAsync(string command, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var result = await box.RunAsync(command, timeout: timeout);
        return (result, clock.Elapsed);
    }

    /// <summary>
    /// Python: flood(N, HELD) starts N children that each hold 20,000 copies of the descriptors
    /// HELD (then sleep): 4 million links to read for N = 200, over 10 s of a walk's reading.
    /// </summary>
    private const string Flood = """
        import ctypes, os, resource, socket, sys, time
        def flood(n, held):
            for fd in held: os.set_inheritable(fd, True)
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            if hard < 20000: sys.exit("a hard limit of %d descriptors" % hard)
            r, w = os.pipe()
            for _ in range(n):
                if os.fork() == 0:
                    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
                    for fd in range(64, 20000 - 16): os.dup2(held[fd % len(held)], fd, inheritable=True)
                    os.write(w, b".")
                    os.execv("/bin/sleep", ["sleep", "600"])
            os.close(w)
            ready = 0
            while ready < n: ready += len(os.read(r, n))
        """;

    /// <summary>
    /// How a person's own code runs in their own unit: their terminals (and agents) run under
    /// t3, in t3-serve@PERSON.service's cgroup (the unit's comment says so); the cgroup is
    /// root's (no Delegate=), so nothing of theirs enters it otherwise. The box's t3 is a
    /// `sleep`, so the test stands in for t3 starting a terminal: a shell of the person's moved
    /// into the unit's cgroup (in whichever hierarchy the box has), which then execs their
    /// program as them (setpriv: no root process stays behind). Waits for the program's
    /// ready file.
    /// </summary>
    private static string InTheirT3(TestUser who, string program, string args) => $$"""
        set -euo pipefail
        unit=t3-serve@{{who.Name}}.service
        for _ in $(seq 1 60); do systemctl is-active --quiet "$unit" && break; sleep 0.5; done
        cg=$(systemctl show -p ControlGroup --value "$unit")
        rm -f {{who.Home}}/.ready
        cat >/tmp/terminal-{{who.Name}}.py <<'PY'
        {{program}}
        PY
        setsid bash -c 'for d in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
            [ -f "$d$0/cgroup.procs" ] && echo $$ >"$d$0/cgroup.procs"; done
          cd "$1" && exec setpriv --reuid {{who.Name}} --regid {{who.Name}} --init-groups env -i HOME="$1" python3 /tmp/terminal-{{who.Name}}.py {{args}}'           "$cg" {{who.Home}} </dev/null >/dev/null 2>&1 &
        for _ in $(seq 1 240); do [ -e {{who.Home}}/.ready ] && exit 0; sleep 0.5; done
        echo "the person's program did not get ready" >&2
        exit 1
        """;

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
        var pfd = await OnboardedAsync(Fds);
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
            var (again, took) = await TimedAsync(pfd.Services, Bounded);
            Assert.True(again.ExitCode == 0, again.ToString());
            Assert.Empty(again.Changes());
            Assert.True(took < TimeSpan.FromSeconds(15), $"a no-op services step took {took.TotalSeconds:F1} s beside 19,000 descriptors or more");
        }
        finally
        {
            await box.RunAsync("systemctl stop ws-fds 2>/dev/null; systemctl reset-failed ws-fds 2>/dev/null; true");
            await box.MustAsync(Fds.Suspend());
        }
    }

    /// <summary>
    /// Attack (issue 26 §8): pho's terminal under their own t3 (so in its unit's cgroup) runs their
    /// program: 200 children holding 20,000 descriptors each (4 million links: over 10 s of
    /// reading), among them a FIFO, a unix socket and a link to /etc/shadow named like a
    /// socket's link ("socket:[1]"), processes that appear and vanish the whole time (renamed
    /// "x\nworkstation: ", made non-dumpable: /proc then shows them as root's), and, started
    /// last, a listener on pho's t3 port (t3's job), renamed too. A no-op re-run of pho's
    /// services step still finds that listener as their own unit's within seconds: the walk
    /// stops at the first holder, main process first, then the smallest descriptor tables.
    /// </summary>
    [Fact]
    public async Task A_persons_own_unit_full_of_descriptors_and_churn_leaves_their_no_op_services_step_fast_and_theirs()
    {
        var pho = await OnboardedAsync(Own);
        try
        {
            await box.ScriptAsync(InTheirT3(Own, $$"""
                {{Flood}}
                port, floods = int(sys.argv[1]), int(sys.argv[2])
                libc = ctypes.CDLL(None)
                d = os.path.join(os.environ["HOME"], "hostile")
                os.makedirs(d, exist_ok=True)
                def fresh(path):
                    if os.path.lexists(path): os.unlink(path)
                    return path
                os.mkfifo(fresh(d + "/socket:[1]"))
                held = [os.open(d + "/socket:[1]", os.O_RDWR | os.O_NONBLOCK)]
                u = socket.socket(socket.AF_UNIX); u.bind(fresh(d + "/socket:[2]")); held.append(u.detach())
                os.symlink("/etc/shadow", fresh(d + "/socket:[3]"))
                held.append(os.open(d + "/socket:[3]", os.O_PATH | os.O_NOFOLLOW))
                open(fresh(d + "/x\nsocket:[4]"), "w").close(); held.append(os.open(d + "/x\nsocket:[4]", os.O_RDONLY))
                flood(floods, held)
                def churn():
                    while True:
                        if os.fork() == 0:
                            libc.prctl(15, b"x\nworkstation: ", 0, 0, 0)
                            libc.prctl(4, 0, 0, 0, 0)
                            time.sleep(0.05)
                            os._exit(0)
                        os.wait()
                if os.fork() == 0: churn()
                if os.fork() == 0:
                    s = socket.socket(); s.bind(("127.0.0.1", port)); s.listen()
                    libc.prctl(15, b"x\nworkstation: ", 0, 0, 0)
                    time.sleep(600); os._exit(0)
                time.sleep(1)
                open(os.path.join(os.environ["HOME"], ".ready"), "w").close()
                time.sleep(600)
                """, $"{Own.T3Port} 200"), TimeSpan.FromSeconds(150));
            // The floods are in pho's unit: 200 processes with a table of 20,000 descriptors or more.
            Assert.Equal("200", (await box.ScriptAsync("""
                cg=$(systemctl show -p ControlGroup --value t3-serve@pho.service)
                for d in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do [ -f "$d$cg/cgroup.procs" ] && break; done
                cd /proc && grep -s -m 1 '^FDSize:' $(sed 's|$|/status|' "$d$cg/cgroup.procs") | awk '$2 >= 20000' | wc -l
                """)).Trim());
            var (again, took) = await TimedAsync(pho.Services, TimeSpan.FromSeconds(120));
            Assert.True(again.ExitCode == 0, $"a no-op services step failed beside pho's own unit's descriptors:\n{again}");
            Assert.Empty(again.Changes());
            Assert.True(took < TimeSpan.FromSeconds(8),
                $"a no-op services step took {took.TotalSeconds:F1} s beside 4 million descriptors in the person's own unit");
        }
        finally
        {
            await box.MustAsync(Own.Suspend(), timeout: TimeSpan.FromSeconds(120));
        }
    }

    /// <summary>
    /// Attack (issue 26 §8): phq's playwright port is to move to 6362, which phq's terminal under
    /// their own t3 already listens on, shared with 1,500 children (and one renamed
    /// "x\nworkstation: "). Not the playwright unit's socket: the step refuses, as before. How many
    /// processes hold it is phq's choice, so the refusal names a few and counts the rest: it
    /// comes within seconds, on one line of bounded length, naming phq's processes only.
    /// </summary>
    [Fact]
    public async Task Many_processes_of_a_persons_own_unit_on_their_next_port_get_a_short_refusal_within_seconds()
    {
        await OnboardedAsync(Mov);
        var moved = Mov with { PlaywrightPort = 6362 };
        try
        {
            await box.ScriptAsync(InTheirT3(Mov, """
                import ctypes, os, socket, sys, time
                port, holders = int(sys.argv[1]), int(sys.argv[2])
                s = socket.socket(); s.bind(("127.0.0.1", port)); s.listen()
                os.set_inheritable(s.fileno(), True)
                for _ in range(holders): os.posix_spawn("/bin/sleep", ["sleep", "600"], os.environ)
                if os.fork() == 0:
                    ctypes.CDLL(None).prctl(15, b"x\nworkstation: ", 0, 0, 0)
                    time.sleep(600); os._exit(0)
                time.sleep(1)
                open(os.path.join(os.environ["HOME"], ".ready"), "w").close()
                time.sleep(600)
                """, $"{moved.PlaywrightPort} 1500"), TimeSpan.FromSeconds(150));
            var (refused, took) = await TimedAsync(moved.Apply(tokenStdin: false).Services, TimeSpan.FromSeconds(180));
            Assert.Equal(1, refused.ExitCode);
            Assert.True(took < TimeSpan.FromSeconds(15), $"the refusal took {took.TotalSeconds:F1} s beside 1,500 holders");
            Assert.True(refused.Stderr.Length < 2048, $"the refusal printed {refused.Stderr.Length} bytes");
            Assert.Matches(@"phq's services can't start: port 6362 is held by pid \d+ \([^)]*, user phq, unit t3-serve@phq\.service\);", refused.Stderr);
            Assert.Matches(@"port 6362 is held by 1\d\d\d more processes\.", refused.Stderr);
            Assert.Equal(4, System.Text.RegularExpressions.Regex.Matches(refused.Stderr, @"port 6362 is held by pid ").Count);
            Assert.All(System.Text.RegularExpressions.Regex.Matches(refused.Stderr, @"user (\S+), unit").Select(m => m.Groups[1].Value), u => Assert.Equal("phq", u));
            Assert.Single(refused.Stderr.Split('\n'), l => l.StartsWith("workstation:", StringComparison.Ordinal));
        }
        finally
        {
            await box.MustAsync(Mov.Suspend(), timeout: TimeSpan.FromSeconds(120));
        }
    }

    /// <summary>
    /// Attack (issue 26 §8): phx hides their hold on the two ports phy's services are to move to.
    /// On the t3 port, a listener behind 200 processes of 20,000 descriptors each: the walk over
    /// every process that names a holder reaches its 10 s deadline first. On the playwright port, a
    /// listening socket no process holds: sent over a unix socket and never received. Neither
    /// passes as free: the step refuses within its deadlines, naming phx as the owner.
    /// </summary>
    [Fact]
    public async Task A_port_held_where_no_walk_finds_a_holder_is_still_refused_naming_the_owner()
    {
        await OnboardedAsync(Hid);
        await OnboardedAsync(Hvi);
        var moved = Hvi with { T3Port = 6264, PlaywrightPort = 6365 };
        try
        {
            await box.ScriptAsync($$"""
                set -euo pipefail
                rm -f /home/phx/.ready
                cat >/tmp/hide-phx.py <<'PY'
                {{Flood}}
                t3, pw = int(sys.argv[1]), int(sys.argv[2])
                flood(200, [os.open("/dev/null", os.O_RDONLY)])
                if os.fork() == 0:
                    s = socket.socket(); s.bind(("127.0.0.1", t3)); s.listen()
                    time.sleep(600); os._exit(0)
                s = socket.socket(); s.bind(("127.0.0.1", pw)); s.listen()
                a, b = socket.socketpair()
                socket.send_fds(a, [b"x"], [s.fileno()])
                s.close()
                time.sleep(1)
                open("/home/phx/.ready", "w").close()
                time.sleep(600)
                PY
                systemd-run --quiet --unit ws-hide -p User=phx -p LimitNOFILE=20000 python3 /tmp/hide-phx.py {{moved.T3Port}} {{moved.PlaywrightPort}}
                for _ in $(seq 1 240); do [ -e /home/phx/.ready ] && exit 0; sleep 0.5; done
                exit 1
                """, TimeSpan.FromSeconds(150));
            var (refused, took) = await TimedAsync(moved.Apply(tokenStdin: false).Services, TimeSpan.FromSeconds(120));
            Assert.True(refused.ExitCode == 1, refused.ToString());
            Assert.True(took < TimeSpan.FromSeconds(40), $"the refusal took {took.TotalSeconds:F1} s");
            Assert.Matches(@"port 6264 is held by (pid \d+ \(python3, user phx, unit ws-hide\.service\)|a socket of user phx \(no process holding it found within 10 s\))", refused.Stderr);
            Assert.Contains("port 6365 is held by a socket of user phx (no process holding it found within 10 s)", refused.Stderr, StringComparison.Ordinal);
            Assert.Single(refused.Stderr.Split('\n'), l => l.StartsWith("workstation:", StringComparison.Ordinal));
        }
        finally
        {
            await box.RunAsync("systemctl stop ws-hide 2>/dev/null; systemctl reset-failed ws-hide 2>/dev/null; true");
            await box.MustAsync(Hid.Suspend(), timeout: TimeSpan.FromSeconds(120));
            await box.MustAsync(Hvi.Suspend(), timeout: TimeSpan.FromSeconds(120));
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

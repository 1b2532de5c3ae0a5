
namespace Host.Tests;

/// <summary>Suspend (what removing a roster entry does), resume, and interrupted applies.</summary>
[Collection(SandboxCollection2.Name)]
public sealed class LifecycleTests(SandboxFixture box, ITestOutputHelper output)
{
    private static readonly TestUser Gil = new("gil", 2107, 4107, 4207);
    private static readonly TestUser Pat = new("pat", null, 4111, 4211);
    private static readonly TestUser Hal = new("hal", 2108, 4108, 4208);
    private static readonly TestUser Ivy = new("ivy", 2109, 4109, 4209);
    private static readonly TestUser Kim = new("kim", 2110, 4110, 4210);
    private static readonly TestUser Lou = new("lou", 2131, 4131, 4231);
    private static readonly TestUser Pia = new("pia", 2134, 4134, 4234);

    private const string HomeTree = "find /home/gil -printf '%p|%y|%m|%u|%s|%T@|%l\\n' | sort; find /home/gil -type f -print0 | sort -z | xargs -0 sha256sum";

    private static string State(string u) => $$"""
        u={{u}}
        echo "status=$(passwd -S $u | cut -d' ' -f2)"
        echo "expiry=$(getent shadow $u | cut -d: -f8)"
        echo "uid=$(id -u $u)"
        echo "active=$(systemctl is-active playwright-mcp@$u.service t3-serve@$u.service playwright-snapshot-refresh@$u.timer | paste -sd,)"
        echo "enabled=$(systemctl is-enabled playwright-mcp@$u.service t3-serve@$u.service playwright-snapshot-refresh@$u.timer | paste -sd,)"
        echo "env=$(cat /etc/workstation/playwright-$u.env /etc/workstation/t3-$u.env | paste -sd,)"
        echo "record=$(ls /etc/workstation/suspended/$u 2>/dev/null || echo none)"
        """;

    [Fact]
    public async Task Suspend_locks_and_stops_without_deleting_and_resume_brings_the_same_uid_and_ports_back()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Gil.Apply(), stdin: Gil.TokenStdin);
        var home = await box.ScriptAsync(HomeTree);
        var running = OnboardingTests.Facts(await box.ScriptAsync(State("gil")));
        Assert.Equal("active,active,active", running["active"]);

        var s = await box.MustAsync(Gil.Suspend());
        Assert.NotEmpty(s.Changes());
        var suspended = OnboardingTests.Facts(await box.ScriptAsync(State("gil")));
        FactAssert.Equal(suspended,
            ("status", "L"),
            ("expiry", "1"), // expired: no login of any kind
            ("active", "inactive,inactive,inactive"),
            ("enabled", "disabled,disabled,disabled"),
            ("record", "/etc/workstation/suspended/gil"));
        Assert.Equal(home, await box.ScriptAsync(HomeTree)); // nothing deleted, nothing touched

        var twice = await box.MustAsync(Gil.Suspend());
        Assert.Empty(twice.Changes());

        var gone = await box.MustAsync(TestUser.Named("nosuchuser").Suspend());
        Assert.Contains("no account nosuchuser", gone.Stdout, StringComparison.Ordinal);

        var wrongUid = await box.RunAsync(Gil.Resume(uid: 2199));
        Assert.True(wrongUid.ExitCode == 3, wrongUid.ToString());
        Assert.Equal(suspended, OnboardingTests.Facts(await box.ScriptAsync(State("gil"))));

        await box.MustAsync(Gil.Resume());
        var resumed = OnboardingTests.Facts(await box.ScriptAsync(State("gil")));
        Assert.Equal(running, resumed); // same uid, ports, lock state, expiry, units
        FactAssert.Equal(resumed,
            ("uid", "2107"),
            ("env", "PLAYWRIGHT_PORT=4207,T3_PORT=4107"));
        Assert.Equal(home, await box.ScriptAsync(HomeTree));

        // An update of the steps (what `pulumi up` runs for a person still in the roster) resumes a suspended account too.
        await box.MustAsync(Gil.Suspend());
        var apply = await box.MustAsync(Gil.Apply(), stdin: Gil.TokenStdin);
        Assert.Contains(apply.Changes(), l => l.Contains("gil resumed", StringComparison.Ordinal));
        Assert.Equal(running, OnboardingTests.Facts(await box.ScriptAsync(State("gil"))));
    }

    [Fact]
    public async Task Resume_restores_a_usable_password_that_suspend_locked()
    {
        await HostWorld.ReadyAsync(box);
        await box.ScriptAsync("useradd -m -u 7011 -s /bin/bash pat && echo 'pat:pats-password' | chpasswd");
        await box.MustAsync(Pat.Apply(adopt: true), stdin: Pat.TokenStdin);
        Assert.Equal("P", OnboardingTests.Facts(await box.ScriptAsync(State("pat")))["status"]);

        await box.MustAsync(Pat.Suspend());
        Assert.Equal("L", OnboardingTests.Facts(await box.ScriptAsync(State("pat")))["status"]);

        await box.MustAsync(Pat.Resume());
        var back = OnboardingTests.Facts(await box.ScriptAsync(State("pat")));
        FactAssert.Equal(back,
            ("status", "P"),
            ("expiry", ""));
    }

    /// <summary>
    /// The SSH session of an apply is killed (SIGKILL to every process in it) while the
    /// clone is running; the re-run converges to exactly what a clean run produces.
    /// </summary>
    [Fact]
    public async Task Apply_killed_during_the_clone_converges_on_rerun()
    {
        await HostWorld.ReadyAsync(box);
        await box.ScriptAsync(HostWorld.MakeBigRepo, TimeSpan.FromMinutes(5));
        await box.MustAsync(HostWorld.SiteCommand(HostWorld.BigRepoUrl));
        try
        {
            var sw = Stopwatch.StartNew();
            await box.MustAsync(Ivy.Apply(), stdin: Ivy.TokenStdin, timeout: TimeSpan.FromMinutes(3));
            output.WriteLine($"clean apply with a 32 MiB clone: {sw.Elapsed.TotalSeconds:F1}s");
            var clean = await box.ScriptAsync(HostWorld.NormalisedUserState(Ivy));

            var apply = box.RunAsync(Hal.Apply(), stdin: Hal.TokenStdin, timeout: TimeSpan.FromMinutes(3));
            var killed = await box.ScriptAsync("""
                set -euo pipefail
                # The apply's own SSH session may not have started it yet: wait for it to
                # appear before treating its absence as "it already ended".
                started=0
                for _ in $(seq 1 3000); do
                  if pgrep -f 'workstation user code apply hal$' >/dev/null; then
                    started=1
                  elif ((started)); then
                    echo "the code step ended before its clone could be interrupted" >&2
                    exit 1
                  fi
                  if compgen -G '/home/hal/.code.clone-*/code' >/dev/null && pgrep -u hal -x git >/dev/null; then
                    pid=$(pgrep -f -o 'workstation user code apply hal$')
                    sid=$(ps -o sid= -p "$pid" | tr -d ' ')
                    pkill -KILL -s "$sid"
                    echo "killed session $sid during the clone"
                    exit 0
                  fi
                  sleep 0.02
                done
                echo "the clone never started" >&2
                exit 1
                """);
            Assert.Contains("killed session", killed, StringComparison.Ordinal);
            var interrupted = await apply;
            Assert.True(interrupted.ExitCode != 0, interrupted.ToString());

            var half = await box.ScriptAsync("ls -d /home/hal/code 2>/dev/null | wc -l; ls -d /home/hal/.code.clone-* | wc -l");
            Assert.Equal("0\n1\n", half); // no half ~/code: only the temp dir is left

            var rerun = await box.MustAsync(Hal.Apply(), stdin: Hal.TokenStdin, timeout: TimeSpan.FromMinutes(3));
            Assert.Contains(rerun.Changes(), l => l.Contains("removed leftover", StringComparison.Ordinal));
            var converged = await box.ScriptAsync(HostWorld.NormalisedUserState(Hal));
            await box.AssertSameAsync(clean, converged, "interrupted + re-run differs from a clean run");

            var again = await box.MustAsync(Hal.Apply(), stdin: Hal.TokenStdin);
            Assert.Empty(again.Changes());
        }
        finally
        {
            await box.MustAsync(HostWorld.SiteCommand());
        }
    }

    /// <summary>
    /// The ssh client dies (as when `pulumi up` is interrupted) a moment into an apply;
    /// the remote side dies at its next write or finishes; the re-run converges.
    /// </summary>
    [Fact]
    public async Task Apply_whose_ssh_client_is_killed_converges_on_rerun()
    {
        await HostWorld.ReadyAsync(box);
        await box.ScriptAsync(HostWorld.MakeBigRepo, TimeSpan.FromMinutes(5));
        await box.MustAsync(HostWorld.SiteCommand(HostWorld.BigRepoUrl));
        try
        {
            await box.MustAsync(Ivy.Apply(), stdin: Ivy.TokenStdin, timeout: TimeSpan.FromMinutes(3));
            var clean = await box.ScriptAsync(HostWorld.NormalisedUserState(Ivy));

            // The account step done, the clone step's client dies 0.5 s in (the 32 MiB clone takes longer).
            var steps = Kim.Apply();
            await box.MustAsync(steps.Account);
            await box.KillDuringAsync(steps.Code, TimeSpan.FromSeconds(0.5));
            // Wait until the orphaned remote step is gone (it holds the user's lock to the end).
            await box.MustAsync("flock /run/workstation/user-kim.lock true", timeout: TimeSpan.FromMinutes(3));
            // The orphaned step either never started (no clone) or went on to the end: never a half clone.
            var partial = OnboardingTests.Facts(await box.ScriptAsync("""
                echo "code=$(test -f /home/kim/code/.git/HEAD && echo yes || echo no)"
                echo "leftovers=$(ls -d /home/kim/.code.clone-* 2>/dev/null | wc -l)"
                """));
            output.WriteLine($"after the client was killed: clone {partial["code"]}, leftovers {partial["leftovers"]}");
            Assert.True(partial["leftovers"] == "0" && (partial["code"] == "yes" || partial["code"] == "no"),
                $"a step whose SSH client died must go on to the end; found code={partial["code"]} leftovers={partial["leftovers"]}");

            await box.MustAsync(Kim.Apply(), stdin: Kim.TokenStdin, timeout: TimeSpan.FromMinutes(3));
            var converged = await box.ScriptAsync(HostWorld.NormalisedUserState(Kim));
            await box.AssertSameAsync(clean, converged, "interrupted + re-run differs from a clean run");
            Assert.Empty((await box.MustAsync(Kim.Apply(), stdin: Kim.TokenStdin)).Changes());
        }
        finally
        {
            await box.MustAsync(HostWorld.SiteCommand());
        }
    }
    /// <summary>
    /// The cut is a cut: a user still logged in when suspended (an SSH session, a job left
    /// running) loses it, and their SSH key no longer logs them in (the account is expired,
    /// whatever the password lock); resume lets the key in again.
    /// </summary>
    [Fact]
    public async Task Suspend_ends_running_sessions_and_refuses_ssh_key_login_until_resume()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Lou.Apply(), stdin: Lou.TokenStdin);
        const string Login = """
            login() {
              ssh -n -i /root/lou_key -p "$(awk '$1 == "Port" { print $2 }' /etc/ssh/sshd_config)" -o BatchMode=yes \
                -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 lou@127.0.0.1 "$@"
            }
            """;
        var live = await box.ScriptAsync(Login + "\n" + """
            set -euo pipefail
            rm -f /root/lou_key /root/lou_key.pub
            ssh-keygen -q -t ed25519 -N '' -f /root/lou_key
            runuser -u lou -- sh -ec 'mkdir -p -m 700 /home/lou/.ssh; cat > /home/lou/.ssh/authorized_keys' < /root/lou_key.pub
            echo "login=$(login id -un)"
            setsid ssh -n -i /root/lou_key -p "$(awk '$1 == "Port" { print $2 }' /etc/ssh/sshd_config)" -o BatchMode=yes \
              -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null lou@127.0.0.1 'exec sleep 1000' </dev/null >/dev/null 2>&1 &
            setsid runuser -u lou -- sleep 1001 </dev/null >/dev/null 2>&1 &
            for _ in $(seq 1 100); do [ "$(pgrep -u lou -x sleep | wc -l)" = 2 ] && break; sleep 0.1; done
            echo "sleeps=$(pgrep -u lou -x sleep | wc -l)"
            """);
        var before = OnboardingTests.Facts(live);
        FactAssert.Equal(before,
            ("login", "lou"),
            ("sleeps", "2"));
        await box.MustAsync(HostCommands.Maps([Lou.Derived()]));
        var active = JsonDocument.Parse((await box.MustAsync(Lou.Status())).Stdout).RootElement.GetProperty("cut");
        Assert.False(active.GetProperty("holds").GetBoolean());
        Assert.Equal("allowed", active.GetProperty("ssh_key_login").GetString());
        Assert.Equal("present", active.GetProperty("maps").GetString());
        Assert.True(active.GetProperty("processes").GetInt32() >= 2);

        // Retiring, as the program runs it: the maps step without lou, then the steps' deletes.
        await box.MustAsync(HostCommands.Maps([]));
        await box.MustAsync(Lou.StopServices());
        var s = await box.MustAsync(Lou.Suspend());
        // The delete's output carries the proof.
        var reported = s.Stdout.Split('\n').Single(l => l.StartsWith("workstation: cut: ", StringComparison.Ordinal));
        var proof = JsonDocument.Parse(reported["workstation: cut: ".Length..]).RootElement;
        Assert.True(proof.GetProperty("holds").GetBoolean(), reported);
        foreach (var probe in new[] { "password_login", "ssh_key_login", "jobs_run" })
            Assert.Equal("refused", proof.GetProperty(probe).GetString());
        Assert.Equal(0, proof.GetProperty("processes").GetInt32());
        Assert.True(proof.GetProperty("units_off").GetBoolean());
        Assert.Equal("absent", proof.GetProperty("maps").GetString());
        Assert.Equal(reported["workstation: cut: ".Length..],
            JsonDocument.Parse((await box.MustAsync(Lou.Status())).Stdout).RootElement.GetProperty("cut").GetRawText());
        var cut = OnboardingTests.Facts(await box.ScriptAsync(Login + "\n" + """
            sleep 0.5
            echo "procs=$(pgrep -u lou | wc -l)"
            echo "login=$(login id -un 2>/dev/null || echo refused)"
            """));
        FactAssert.Equal(cut,
            ("procs", "0"),
            ("login", "refused"));
        Assert.Contains(s.Changes(), l => l.Contains("ended every process", StringComparison.Ordinal));
        Assert.Empty((await box.MustAsync(Lou.Suspend())).Changes());

        await box.MustAsync(Lou.Resume());
        var back = OnboardingTests.Facts(await box.ScriptAsync(Login + "\n" + """echo "login=$(login id -un)" """));
        Assert.Equal("lou", back["login"]);
        await box.MustAsync("pkill -u lou -x sleep || true; rm -f /root/lou_key /root/lou_key.pub");
    }

    /// <summary>
    /// The three steps Pulumi runs as separate Commands: the clone and the services refuse (exit 3,
    /// nothing touched) until the account step has run, and again once the account is suspended;
    /// a failing services step leaves the account and the clone as they were, and once the cause
    /// is gone only that step needs to run again.
    /// </summary>
    [Fact]
    public async Task The_steps_run_in_order_and_a_failed_step_leaves_the_others_done()
    {
        await HostWorld.ReadyAsync(box);
        var steps = Pia.Apply(tokenStdin: false);
        await using var quiet = await box.QuietAsync();
        var before = await box.ScriptAsync(HostWorld.Snapshot);
        var early = await box.RunAsync(steps.Code);
        Assert.True(early.ExitCode == 3, early.ToString());
        Assert.Contains("run 'workstation user account apply pia' first", early.Stderr, StringComparison.Ordinal);
        var earlyServices = await box.RunAsync(steps.Services);
        Assert.True(earlyServices.ExitCode == 3, earlyServices.ToString());
        await box.AssertSameAsync(before, await box.ScriptAsync(HostWorld.Snapshot), "a refused step changed the box");

        await box.MustAsync(steps.Account);
        await box.MustAsync(steps.Code);
        // The services step fails (a FIFO where ~/.claude.json goes): account and clone stay done.
        await box.MustAsync("runuser -u pia -- mkfifo /home/pia/.claude.json");
        var failed = await box.RunAsync(steps.Services);
        Assert.True(failed.ExitCode == 1, failed.ToString());
        var f = OnboardingTests.Facts(await box.ScriptAsync("""
            echo "account=$(id -nG pia | tr ' ' '\n' | sort | paste -sd,)"
            echo "code=$(test -f /home/pia/code/README.md && echo cloned || echo missing)"
            echo "units=$(systemctl is-active playwright-mcp@pia.service t3-serve@pia.service | paste -sd, || true)"
            """));
        FactAssert.Equal(f,
            ("account", "pia,workstation"),
            ("code", "cloned"),
            ("units", "inactive,inactive"));
        // The next `pulumi up` retries only the failed step; the others have nothing to do.
        await box.MustAsync("rm /home/pia/.claude.json");
        Assert.Empty((await box.MustAsync(steps.Account)).Changes());
        Assert.Empty((await box.MustAsync(steps.Code)).Changes());
        var retried = await box.MustAsync(steps.Services);
        Assert.Contains(retried.Changes(), l => l.Contains("enabled and started t3-serve@pia.service", StringComparison.Ordinal));

        // Suspended: the account step's delete ran; services and clone refuse until the account step resumes it.
        await box.MustAsync(Pia.StopServices());
        await box.MustAsync(Pia.Suspend());
        var whileCut = await box.RunAsync(steps.Services);
        Assert.True(whileCut.ExitCode == 3, whileCut.ToString());
        Assert.Contains("pia is suspended", whileCut.Stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// Suspend leaves every unit disabled and stopped whatever mixed state it found: enabled but
    /// not running (a crashed server would start again at boot, as the suspended person, since
    /// User= units need no login), running but not enabled, and both. A daemon re-exec and a
    /// simulated boot start none of them.
    /// </summary>
    [Fact]
    public async Task Suspend_turns_off_units_in_every_mixed_state_and_a_boot_starts_none_of_them()
    {
        await HostWorld.ReadyAsync(box);
        var nia = new TestUser("nia", 2132, 4132, 4232);
        await box.MustAsync(nia.Apply(), stdin: nia.TokenStdin);
        var mixed = OnboardingTests.Facts(await box.ScriptAsync("""
            systemctl stop playwright-mcp@nia.service          # enabled, not running
            systemctl disable --quiet t3-serve@nia.service     # running, not enabled
            for u in playwright-mcp@nia.service t3-serve@nia.service playwright-snapshot-refresh@nia.timer; do
              echo "${u%%@*}=$(systemctl is-enabled "$u" 2>/dev/null),$(systemctl is-active "$u" 2>/dev/null)"
            done
            """));
        FactAssert.Equal(mixed,
            ("playwright-mcp", "enabled,inactive"),
            ("t3-serve", "disabled,active"),
            ("playwright-snapshot-refresh", "enabled,active"));

        await box.MustAsync(nia.Suspend());
        const string States = """
            for u in playwright-mcp@nia.service t3-serve@nia.service playwright-snapshot-refresh@nia.timer; do
              echo "${u%%@*}=$(systemctl is-enabled "$u" 2>/dev/null),$(systemctl is-active "$u" 2>/dev/null)"
            done
            echo "procs=$(pgrep -u nia | wc -l)"
            """;
        var cut = OnboardingTests.Facts(await box.ScriptAsync(States));
        var booted = OnboardingTests.Facts(await box.ScriptAsync("""
            systemctl daemon-reexec
            systemctl start multi-user.target timers.target
            sleep 1
            """ + "\n" + States));
        foreach (var state in new[] { cut, booted })
        {
            FactAssert.Equal(state,
                ("playwright-mcp", "disabled,inactive"),
                ("t3-serve", "disabled,inactive"),
                ("playwright-snapshot-refresh", "disabled,inactive"),
                ("procs", "0"));
        }
    }

    /// <summary>
    /// After a reboot /run/lock/workstation is gone and Pulumi runs every user's command at
    /// once: all of them must succeed, not the one that won the race to create the lock dir.
    /// </summary>
    [Fact]
    public async Task Parallel_first_runs_after_a_reboot_all_succeed()
    {
        await HostWorld.ReadyAsync(box);
        // The program's cut for accounts that don't exist: nosuch1 … nosuch24.
        var suspend = TestUser.Named("nosuch").Suspend();
        var r = await box.ScriptAsync($$"""
            set -uo pipefail
            fails=0
            for round in $(seq 1 8); do
              rm -rf /run/workstation
              pids=()
              for i in $(seq 1 24); do
                {{suspend}}$i >/dev/null 2>>/tmp/parallel-first-runs.err &
                pids+=($!)
              done
              for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
            done
            echo "fails=$fails"
            sort /tmp/parallel-first-runs.err | uniq -c | head -5
            rm -f /tmp/parallel-first-runs.err
            """, TimeSpan.FromMinutes(3));
        Assert.Equal("fails=0\n", r);
    }
}

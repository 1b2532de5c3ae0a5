
namespace Host.Tests;

/// <summary>
/// Root acting on what a user controls: the lock directory, git config and hooks, files in the
/// home, and the processes root starts as the user. Each test plays the user as a real account.
/// Timeouts are seconds: a hang is the failure these tests exist to catch.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class UserContextTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(45))
{
    private static readonly TestUser Dot = new("dot", 2151, 4151, 4251);
    private static readonly TestUser Eli = new("eli", 7152, 4152, 4252);
    private static readonly TestUser Fia = new("fia", 7153, 4153, 4253);
    private static readonly TestUser Gwen = new("gwen", 2154, 4154, 4254);

    /// <summary>
    /// /run/lock is world-writable and emptied at boot. Mallory, an ordinary account, gets there
    /// first after a reboot and plants links where the old lock files were; applies must neither
    /// use her directory nor open anything through her links, and she can't create ours.
    /// </summary>
    [Fact]
    public async Task A_lock_directory_planted_after_a_reboot_is_never_used()
    {
        await HostWorld.ReadyAsync(box);
        var planted = OnboardingTests.Facts(await box.ScriptAsync("""
            set -euo pipefail
            getent passwd mallory >/dev/null || useradd -m -s /bin/bash mallory
            rm -f /etc/ws-planted-*
            # The reboot: /run is empty again.
            rm -rf /run/lock/workstation /run/workstation
            runuser -u mallory -- sh -c '
              mkdir -m 0777 /run/lock/workstation
              for l in user-dot accounts firewall claude-dot site maps install base; do
                ln -s "/etc/ws-planted-$l" "/run/lock/workstation/$l.lock"
              done
              mkdir /run/workstation 2>/dev/null && echo "ours=created" || echo "ours=refused"'
            echo "links=$(ls /run/lock/workstation | wc -l)"
            """));
        FactAssert.Equal(planted,
            ("ours", "refused"),
            ("links", "8"));

        await box.MustAsync(HostWorld.SiteCommand());
        await box.MustAsync(Dot.Apply(), stdin: Dot.TokenStdin, timeout: Bounded);
        await box.MustAsync(Dot.Suspend(), timeout: Bounded);

        var after = OnboardingTests.Facts(await box.ScriptAsync("""
            echo "planted_files=$(ls /etc/ws-planted-* 2>/dev/null | wc -l)"
            echo "links=$(find /run/lock/workstation -type l | wc -l)"
            echo "ours=$(stat -c '%U %a %F' /run/workstation)"
            """));
        FactAssert.Equal(after,
            ("planted_files", "0"), // root never wrote through her links
            ("links", "8"),
            ("ours", "root 700 directory"));
        await box.MustAsync("rm -rf /run/lock/workstation");
    }

    /// <summary>Our run directory is checked before use: anything but root's 0700 directory is refused by name.</summary>
    [Fact]
    public async Task A_run_directory_that_is_not_roots_0700_is_refused()
    {
        await HostWorld.ReadyAsync(box);
        try
        {
            await box.MustAsync("chmod 0755 /run/workstation");
            var open = await box.RunAsync(Dot.Apply(), stdin: Dot.TokenStdin, timeout: Bounded);
            Assert.True(open.ExitCode == 1, open.ToString());
            Assert.Contains("/run/workstation must be a root-owned 0700 directory, and is: directory 0 755", open.Stderr, StringComparison.Ordinal);

            await box.MustAsync("rm -rf /run/workstation && mkdir -m 0700 /run/ws-elsewhere && ln -s /run/ws-elsewhere /run/workstation");
            var link = await box.RunAsync(Dot.Apply(), stdin: Dot.TokenStdin, timeout: Bounded);
            Assert.True(link.ExitCode == 1, link.ToString());
            Assert.Contains("is: symbolic link", link.Stderr, StringComparison.Ordinal);
            Assert.Equal("0\n", (await box.MustAsync("ls /run/ws-elsewhere | wc -l")).Stdout);
        }
        finally
        {
            await box.MustAsync("rm -rf /run/workstation /run/ws-elsewhere");
        }
    }

    /// <summary>
    /// Whatever holds a user's lock (here a stuck run, played by a flock held for a minute), the
    /// cut happens first: the account is expired and locked and the user's processes end before
    /// suspend waits for the lock; the wait is bounded and says who holds it.
    /// </summary>
    [Fact]
    public async Task Suspend_cuts_first_and_waits_for_a_held_lock_only_a_bounded_time()
    {
        await HostWorld.ReadyAsync(box);
        var hal = new TestUser("hap", 2155, 4155, 4255);
        await box.MustAsync(hal.Apply(), stdin: hal.TokenStdin);
        await box.ScriptAsync("""
            setsid runuser -u hap -- sleep 600 </dev/null >/dev/null 2>&1 &
            # flock's child holds the lock too: its session is killed as a whole below.
            setsid flock /run/workstation/user-hap.lock sleep 60 </dev/null >/dev/null 2>&1 &
            echo $! > /tmp/hap-lock.sid
            for _ in $(seq 1 50); do [ -n "$(pgrep -f 'flock /run/workstation/user-hap.lock')" ] && break; sleep 0.1; done
            """);
        var sw = Stopwatch.StartNew();
        var cut = await box.RunAsync("WS_LOCK_WAIT=3 " + TestUser.Named("hap").Suspend(), timeout: Bounded);
        Assert.True(cut.ExitCode == 1, cut.ToString());
        Assert.Matches(@"waited 3s for /run/workstation/user-hap\.lock \(held by pid [0-9 ]+\)", cut.Stderr);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"suspend took {sw.Elapsed}");
        var f = OnboardingTests.Facts(await box.ScriptAsync("""
            echo "status=$(passwd -S hap | cut -d' ' -f2)"
            echo "expiry=$(getent shadow hap | cut -d: -f8)"
            echo "procs=$(pgrep -u hap | wc -l)"
            pkill -KILL -s "$(cat /tmp/hap-lock.sid)" || true
            rm -f /tmp/hap-lock.sid
            """));
        FactAssert.Equal(f,
            ("status", "L"),
            ("expiry", "1"),
            ("procs", "0"));
        // Once the lock is free, the rest of the cut completes.
        await AssertTheCutCompletesAsync("hap");
    }

    /// <summary>
    /// Eli's own ~/.gitconfig points core.hooksPath at a hook that leaves a process behind. The
    /// clone root runs as Eli must run no hook; whatever Eli starts holds nothing of root's; and
    /// the cut completes in seconds with none of Eli's processes left.
    /// </summary>
    [Fact]
    public async Task A_hooks_path_hook_never_runs_during_the_clone_and_the_cut_completes()
    {
        await HostWorld.ReadyAsync(box);
        await box.ScriptAsync("""
            set -euo pipefail
            getent passwd eli >/dev/null || useradd -m -u 7152 -s /bin/bash eli
            runuser -u eli -- sh -ec '
              cd
              mkdir -p hooks
              printf "#!/bin/sh\necho ran > /home/eli/hook-ran\n(sleep 300 &)\n" > hooks/post-checkout
              cp hooks/post-checkout hooks/reference-transaction
              chmod +x hooks/*
              git config --global core.hooksPath /home/eli/hooks
              git config --global init.templateDir /home/eli/hooks-template'
            """);

        var apply = await box.RunAsync(Eli.Apply(adopt: true), stdin: Eli.TokenStdin, timeout: Bounded);
        Assert.True(apply.ExitCode == 0, apply.ToString());
        var after = OnboardingTests.Facts(await box.ScriptAsync("""
            echo "code=$(test -f /home/eli/code/README.md && echo cloned || echo missing)"
            echo "hook=$(cat /home/eli/hook-ran 2>/dev/null || echo never)"
            echo "sleepers=$(pgrep -u eli -f 'sleep 300' | wc -l)"
            """));
        FactAssert.Equal(after,
            ("code", "cloned"),
            ("hook", "never"),
            ("sleepers", "0"));
        await AssertTheCutCompletesAsync("eli");
    }

    /// <summary>`user suspend` exits 0 within seconds and leaves no process of the user.</summary>
    private async Task AssertTheCutCompletesAsync(string user)
    {
        var sw = Stopwatch.StartNew();
        var cut = await box.RunAsync(TestUser.Named(user).Suspend(), timeout: Bounded);
        Assert.True(cut.ExitCode == 0, cut.ToString());
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"the cut took {sw.Elapsed}");
        Assert.Equal("0\n", (await box.MustAsync($"pgrep -u {user} | wc -l")).Stdout);
    }

    /// <summary>
    /// Fia replaces ~/.kube/config, then ~/.claude.json, with a FIFO: both are files root reads (as
    /// her) when it looks for an earlier kubeconfig to back up or an existing MCP entry. Apply
    /// refuses each by type instead of blocking on a read that never ends (while holding her
    /// lock), and the cut still completes in seconds.
    /// </summary>
    [Theory]
    [InlineData(".kube/config")]
    [InlineData(".claude.json")]
    public async Task A_fifo_where_apply_reads_a_file_is_refused_not_read_and_the_cut_completes(string file)
    {
        await HostWorld.ReadyAsync(box);
        await box.ScriptAsync($$"""
            set -euo pipefail
            getent passwd fia >/dev/null || useradd -m -u 7153 -s /bin/bash fia
            runuser -u fia -- sh -ec 'cd; mkdir -p .kube; rm -f .kube/config .claude.json; mkfifo {{file}}'
            """);

        var sw = Stopwatch.StartNew();
        var apply = await box.RunAsync(Fia.Apply(adopt: true), stdin: Fia.TokenStdin, timeout: Bounded);
        Assert.True(apply.ExitCode == 1, apply.ToString());
        Assert.Contains($"/home/fia/{file} is not a regular file", apply.Stderr, StringComparison.Ordinal);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"the refusal took {sw.Elapsed}");
        Assert.Equal("fifo\n", (await box.MustAsync($"stat -c %F /home/fia/{file}")).Stdout); // left as it was

        await AssertTheCutCompletesAsync("fia");
        await box.MustAsync($"rm -f /home/fia/{file}");
    }

    /// <summary>
    /// What root runs as a user (as_user) gets only stdin, stdout and stderr: not the lock root
    /// holds, nor any other descriptor; it runs in a session of its own, and it is stopped when
    /// its time is up.
    /// </summary>
    [Fact]
    public async Task Work_run_as_a_user_inherits_no_descriptor_or_session_and_has_a_deadline()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Gwen.Apply(), stdin: Gwen.TokenStdin);
        var f = OnboardingTests.Facts(await box.ScriptAsync("""
            set -euo pipefail
            source /usr/local/lib/workstation/lib/common.sh
            lock user-gwen
            exec 7</etc/hostname
            echo "root_fds=$(ls /proc/$$/fd | sort -n | paste -sd,)"
            echo "root_sid=$(ps -o sid= -p $$ | tr -d ' ')"
            # A sleep run as gwen, looked at from outside (a process listing its own fds sees its own listing's).
            as_user gwen /home/gwen sleep 31 &
            pid=""
            for _ in $(seq 1 100); do pid=$(pgrep -u gwen -f '^sleep 31$') && break; sleep 0.1; done
            echo "user_fds=$(ls /proc/"$pid"/fd | sort -n | paste -sd,)"
            echo "user_sid=$(ps -o sid= -p "$pid" | tr -d ' ')"
            echo "user=$(ps -o user= -p "$pid")"
            pkill -u gwen -f '^sleep 31$'
            wait
            # Arguments reach the command as they are: nothing expands $NAME or %x in them.
            as_user gwen /home/gwen printf 'literal=%s\n' '$HOME ${USER} $$ %n %i'
            start=$(date +%s)
            rc=0; WS_TIMEOUT=2 as_user gwen /home/gwen sleep 60 || rc=$?
            echo "timeout_rc=$rc"
            echo "timeout_took=$(( $(date +%s) - start ))"
            echo "left=$(pgrep -u gwen -f '^sleep 60$' | wc -l)"
            """));
        Assert.Contains(",7", f["root_fds"], StringComparison.Ordinal); // the test's own extra descriptor exists up here
        Assert.Equal("0,1,2", f["user_fds"]);
        Assert.NotEqual(f["root_sid"], f["user_sid"]);
        FactAssert.Equal(f,
            ("user", "gwen"),
            ("literal", "$HOME ${USER} $$ %n %i"),
            ("timeout_rc", "124"));
        Assert.True(int.Parse(f["timeout_took"], System.Globalization.CultureInfo.InvariantCulture) < 10, $"took {f["timeout_took"]}s");
        Assert.Equal("0", f["left"]);
    }
    private static readonly TestUser Hld = TestUser.Numbered("hld", 2505, 4505);

    /// <summary>
    /// hld's background process (in a unit of its own, as their t3 server is): it copies
    /// descriptors 0 to 2 of every new process of hld's that root's side started and holds them, logging what it got to
    /// /home/hld/grabbed ("PID FD TARGET"). It uses pidfd_getfd (the same uid suffices where Yama
    /// is off or at 0), and where that is refused, opens /proc/PID/fd/N (a pipe reopens so; that
    /// needs only ptrace "read" access, which Yama's scope 1 still grants).
    /// </summary>
    private const string Grabber = """
        systemd-run --quiet --unit ws-hld-grab -p User=hld python3 -c '
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        me, uid, held = os.getpid(), os.getuid(), []
        seen = set(int(d) for d in os.listdir("/proc") if d.isdigit())
        log = open("/home/hld/grabbed", "a", buffering=1)
        log.write("ready\n")
        while True:
            for d in os.listdir("/proc"):
                if not d.isdigit() or int(d) in seen:
                    continue
                pid = int(d)
                try:
                    # Not yet hld (systemd forks as root, then drops to hld): looked at again later.
                    if os.stat("/proc/%d" % pid).st_uid != uid:
                        continue
                    seen.add(pid)
                    # Only what root handed over: processes of hld that root (systemd) started,
                    # not the pipes between hld own processes (holding those hangs only their own work).
                    ppid = int(open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[1])
                    if os.stat("/proc/%d" % ppid).st_uid != 0:
                        continue
                    pfd = os.pidfd_open(pid)
                except OSError:
                    continue
                for n in (0, 1, 2):
                    fd = libc.syscall(438, pfd, n, 0)
                    if fd < 0:
                        # pidfd_getfd refused (a seccomp filter: the sandbox box has one):
                        # reopening a pipe through /proc needs only the same uid, Yama or not.
                        try:
                            fd = os.open("/proc/%d/fd/%d" % (pid, n), os.O_RDONLY if n == 0 else os.O_WRONLY)
                        except OSError:
                            continue
                    held.append(fd)
                    log.write("%d %d %s\n" % (pid, n, os.readlink("/proc/self/fd/%d" % fd)))
                os.close(pfd)
        '
        for _ in $(seq 1 40); do grep -qx ready /home/hld/grabbed 2>/dev/null && exit 0; sleep 0.25; done
        exit 1
        """;

    /// <summary>
    /// Attack (issue 25 §3): root's work as a person (as_user) must not hand the person's unit
    /// a descriptor root waits on. hld holds copies of every descriptor 0 to 2 their processes
    /// get that they can copy; root's code step, full of work as hld whose output root reads, still ends within
    /// seconds, and SSH (Pulumi's channel) sees its end: the unit writes to files of root's,
    /// which root reads, bounded, once the unit has ended.
    /// </summary>
    [Fact]
    public async Task Descriptors_a_person_copies_from_roots_work_as_them_cannot_hold_a_step_open()
    {
        await HostWorld.ReadyAsync(box);
        var steps = Hld.Apply(tokenStdin: false);
        await box.MustAsync(steps.Account, timeout: Bounded);
        try
        {
            await box.ScriptAsync("rm -f /home/hld/grabbed; install -m 0644 -o hld /dev/null /home/hld/grabbed");
            await box.ScriptAsync(Grabber, Bounded);
            var started = Stopwatch.StartNew();
            SshResult code;
            try
            {
                code = await box.RunAsync(steps.Code, timeout: TimeSpan.FromSeconds(40));
            }
            catch (TimeoutException e)
            {
                // What was still running, and what hld held: the failure's own evidence.
                var seen = await box.ScriptAsync("ps -eo pid,user,args --forest | grep -v ' \\[' | tail -n 40; cat /home/hld/grabbed", Bounded);
                throw new TimeoutException($"{e.Message}\n--- the box ---\n{seen}", e);
            }
            Assert.True(code.ExitCode == 0, code.ToString());
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(40), $"took {started.Elapsed}");
            // The attacker did copy descriptors of root's work as hld: the step ended anyway.
            var grabbed = (await box.ScriptAsync("grep -c -v '^ready$' /home/hld/grabbed || true")).Trim();
            Assert.NotEqual("0", grabbed);
            // None of them is a pipe or socket of root's side: those are what root (and sshd) wait on.
            var roots = (await box.ScriptAsync("""
                awk '$3 ~ /^(pipe|socket):/ { print $3 }' /home/hld/grabbed | sort -u | while read -r t; do
                  ino=${t#*[}; ino=${ino%]}
                  for fd in /proc/[0-9]*/fd/*; do
                    [ "$(readlink "$fd" 2>/dev/null)" = "$t" ] || continue
                    p=${fd#/proc/}; p=${p%%/*}
                    [ "$(stat -c %U /proc/$p)" = root ] && echo "$t held by root's pid $p ($(cat /proc/$p/comm))"
                  done
                done; true
                """, Bounded)).Trim();
            Assert.Equal("", roots);
        }
        finally
        {
            await box.RunAsync("systemctl stop ws-hld-grab 2>/dev/null; systemctl reset-failed ws-hld-grab 2>/dev/null; true");
            await box.MustAsync(Hld.Suspend());
        }
    }

    /// <summary>
    /// Work run as a person lives on as a transient unit when the run that started it is killed.
    /// The person's next step stops it, whether or not systemd still has other units of theirs;
    /// with none left, the step asks systemd nothing (its transient folder is empty of them).
    /// </summary>
    [Fact]
    public async Task Work_left_running_as_a_person_by_a_killed_run_is_stopped_by_their_next_step()
    {
        await box.OnboardAsync(Dot, Bounded);
        var steps = Dot.Apply(tokenStdin: false);
        try
        {
            // What an interrupted as_user call leaves: its unit, running as dot, in dot's slice.
            await box.MustAsync("systemd-run --quiet --collect --service-type=exec --unit=workstation-as_dot_1_2 " +
                "--slice=workstation-dot.slice --uid=dot -- /usr/bin/sleep 300");
            var code = await box.MustAsync(steps.Code, timeout: Bounded);
            Assert.Contains("stopped work left running as dot by an interrupted run: workstation-as_dot_1_2.service",
                code.Stdout, StringComparison.Ordinal);
            Assert.Equal("inactive", (await box.RunAsync("systemctl is-active workstation-as_dot_1_2.service")).Stdout.Trim());
            // Nothing left: the next run finds nothing to stop.
            Assert.DoesNotContain("stopped work left running", (await box.MustAsync(steps.Code, timeout: Bounded)).Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await box.RunAsync("systemctl stop workstation-as_dot_1_2.service 2>/dev/null; true");
        }
    }

    /// <summary>
    /// Pulumi runs every person's code step at once on a first up, and each first clone writes
    /// the one clone config (/etc/workstation/clone.gitconfig): six people cloning together, the
    /// config absent each time, all succeed. Without its lock, one run's cleanup of leftovers
    /// removed another's temp file before the rename ("mv: cannot stat ...ws-tmp...").
    /// </summary>
    [Fact]
    public async Task First_clones_of_many_people_at_once_all_write_the_shared_clone_config()
    {
        var people = Enumerable.Range(0, 6).Select(i => TestUser.Numbered($"cc{i + 1}", 2870 + i, 6270 + i)).ToArray();
        await HostWorld.ReadyAsync(box);
        foreach (var p in people)
        {
            // A first onboarding: no ~/.kube/config yet, which the step finds absent and writes, with no error line.
            var account = await box.MustAsync(p.Account(), timeout: Bounded);
            Assert.True(!account.Stderr.Contains("error", StringComparison.Ordinal), account.ToString());
        }
        var codes = string.Join("\n", people.Select(p => $"( {p.Apply(tokenStdin: false).Code} >/tmp/cc-{p.Name}.log 2>&1; echo \"{p.Name} $?\" >>/tmp/cc-rc ) &"));
        try
        {
            for (var round = 1; round <= 3; round++)
            {
                var rc = await box.ScriptAsync($$"""
                    rm -f /etc/workstation/clone.gitconfig /tmp/cc-rc {{string.Join(" ", people.Select(p => $"/tmp/cc-{p.Name}.log"))}}
                    rm -rf {{string.Join(" ", people.Select(p => $"{p.Home}/code"))}}
                    {{codes}}
                    wait
                    sort /tmp/cc-rc
                    grep -h "error" /tmp/cc-*.log || true
                    """, Bounded);
                var expected = string.Concat(people.Select(p => $"{p.Name} 0\n"));
                Assert.True(rc == expected, $"round {round}: every code step exits 0 and says no error; got:\n{rc}");
            }
            Assert.Equal("1", (await box.MustAsync("ls -a /etc/workstation | grep -c '^clone.gitconfig$'")).Stdout.Trim());
        }
        finally
        {
            foreach (var p in people) await box.RunAsync(p.Suspend(), timeout: Bounded);
        }
    }
}

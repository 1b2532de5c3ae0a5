
namespace Host.Tests;

/// <summary>
/// The cut of a hostile person, and a revoked privilege, played by the person in the sandbox:
/// nothing they leave running survives the cut, whatever id it runs as (their subordinate ids
/// included) or however it treats SIGTERM; and a group taken away is gone from their running
/// processes too, not only from /etc/group.
/// </summary>
[Collection(SandboxCollection3.Name)]
public sealed class ProcessSweepTests(SandboxFixture box, ITestOutputHelper output) : BoxTests(TimeSpan.FromSeconds(150))
{
    private static readonly TestUser Cta = new("cta", 2251, 5151, 5251);
    private static readonly TestUser Rvk = new("rvk", 2252, 5152, 5252, "admin", ["code-shared", "docker", "sudo"]);
    private static readonly TestUser Rvs = new("rvs", 2253, 4453, 4553);

    /// <summary>A script line: runs the rest of the line as USER in a clean environment, from their home, bounded.</summary>
    private static string As(TestUser u) =>
        $"cd {u.Home} && timeout 20 runuser -u {u.Name} -- env -i HOME={u.Home} USER={u.Name} LOGNAME={u.Name} PATH=/usr/local/bin:/usr/bin:/bin";

    /// <summary>
    /// Prints "ids=N": the processes with a uid or gid of USER's or in their subordinate range,
    /// counted from ps (not the host's own scan).
    /// </summary>
    private static string CountIds(TestUser u) =>
        $$"""
        echo "ids=$(ps -e -o ruid=,euid=,suid=,rgid=,egid=,sgid=,stat= | awk -v me={{u.Uid}} -v s={{Rules.SubIdStart(u.Uid!.Value)}} -v n={{Rules.SubIdCount}} '
          $7 !~ /^Z/ { hit = 0; for (i = 1; i <= 3; i++) if ($i == me || ($i >= s && $i < s + n)) hit = 1
                       for (i = 4; i <= 6; i++) if ($i >= s && $i < s + n) hit = 1
                       c += hit } END { print c + 0 }')"
        """;

    /// <summary>
    /// The person leaves behind what `kill -1` as them can't reach: a setuid binary owned by one
    /// of their subordinate uids (made in a user namespace of their own) that drops to it for
    /// good, outside the namespace; and a process running as another inside the namespace
    /// (`kill -1` reaches that one only as the namespace's owner, and `user status` did not count
    /// it). Plus, in their t3 and MCP units, a process that ignores SIGTERM, and their user
    /// manager. The cut ends every one of them, `user status` counted them before, and the whole
    /// cut takes seconds.
    /// </summary>
    [Fact]
    public async Task The_cut_ends_processes_running_as_the_persons_subordinate_ids_and_those_ignoring_sigterm_in_seconds()
    {
        await box.OnboardAsync(Cta, Bounded, token: true);
        var s = Rules.SubIdStart(Cta.Uid!.Value);
        var map = $"--map-users={s},1,{Rules.SubIdCount} --map-groups={s},1,{Rules.SubIdCount}";
        var planted = OnboardingTests.Facts(await box.ScriptAsync($$"""
            set -euo pipefail
            {{As(Cta)}} sh -c 'setsid -f unshare --user {{map}} --setuid 1 --setgid 1 sleep 1001 </dev/null >/dev/null 2>&1'
            {{As(Cta)}} sh -c 'cp /usr/bin/setpriv ./sp && unshare --user {{map}} --map-root-user sh -c "chown 2:2 sp && chmod 4755 sp" &&
              setsid -f ./sp --reuid {{s + 1}} --regid {{Cta.Uid}} --keep-groups sleep 1002 </dev/null >/dev/null 2>&1'
            {{As(Cta)}} sh -c 'setsid -f sh -c "trap \"\" TERM; exec sleep 1003" </dev/null >/dev/null 2>&1'
            {{As(Cta)}} sh -c 'setsid -f sh -c "trap \"\" TERM; exec sleep 1008" </dev/null >/dev/null 2>&1'
            systemctl start user@{{Cta.Uid}}.service
            for _ in $(seq 1 50); do [ "$(pgrep -f '^sleep 100[1238]$' | wc -l)" = 4 ] && break; sleep 0.1; done
            # Into t3's and the MCP server's cgroups, as a terminal t3 opened or a
            # browser the server started would be (hybrid or unified cgroups).
            for pair in 1003:t3-serve@cta.service 1008:playwright-mcp@cta.service; do
              pid=$(pgrep -u cta -f "^sleep ${pair%%:*}$")
              cg=$(systemctl show -p ControlGroup --value "${pair#*:}")
              for h in /sys/fs/cgroup /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
                if [ -f "$h$cg/cgroup.procs" ]; then echo "$pid" > "$h$cg/cgroup.procs"; fi
              done
              systemctl status --no-pager "${pair#*:}" | grep -q "sleep ${pair%%:*}"
            done
            echo "subid=$(ps -o ruid=,euid=,suid= -p "$(pgrep -f '^sleep 1001$')" | xargs)"
            echo "setuid=$(ps -o ruid=,euid=,suid= -p "$(pgrep -f '^sleep 1002$')" | xargs)"
            echo "own=$(pgrep -u cta | wc -l)"
            {{CountIds(Cta)}}
            """));
        FactAssert.Equal(planted,
            ("subid", $"{s} {s} {s}"),
            ("setuid", $"{s + 1} {s + 1} {s + 1}"));
        var status = JsonDocument.Parse((await box.MustAsync(Cta.Status())).Stdout).RootElement.GetProperty("cut");
        Assert.True(status.GetProperty("processes").GetInt32() >= int.Parse(planted["own"]) + 2, $"{status} {planted["own"]}");

        var clock = Stopwatch.StartNew();
        var cut = await box.RunAsync(Cta.Suspend(), timeout: Bounded);
        clock.Stop();
        output.WriteLine($"the cut took {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(cut.ExitCode == 0, cut.ToString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"the cut took {clock.Elapsed}");

        var after = OnboardingTests.Facts(await box.ScriptAsync($$"""
            sleep 0.5
            echo "sleeps=$(pgrep -f '^sleep 100[1238]$' | wc -l)"
            echo "manager=$(systemctl is-active user@{{Cta.Uid}}.service || true)"
            {{CountIds(Cta)}}
            """));
        FactAssert.Equal(after,
            ("sleeps", "0"),
            ("ids", "0"));
        Assert.NotEqual("active", after["manager"]);
        var proof = JsonDocument.Parse((await box.MustAsync(Cta.Status())).Stdout).RootElement.GetProperty("cut");
        Assert.Equal(0, proof.GetProperty("processes").GetInt32());
        Assert.True(proof.GetProperty("holds").GetBoolean(), proof.ToString());

        await box.MustAsync(Cta.Resume(), timeout: Bounded);
    }

    /// <summary>
    /// The sandbox runs Debian's cron and atd (host/packages.txt), with their spools as the
    /// packages make them; a running job is stood in for by a process of the person's in a
    /// system unit of its own (where a job runs that no pam_systemd line puts in the person's
    /// slice; JobSessionTests shows a real at job in their session), so the job is running at
    /// the cut without waiting for cron's minute. The cut ends the job, puts the crontab and the
    /// at job aside in a root-only folder, and resume brings both back, owner and mode unchanged.
    /// </summary>
    [Fact]
    public async Task The_cut_ends_a_running_cron_job_and_puts_the_persons_cron_and_at_jobs_aside_until_resume()
    {
        await HostWorld.ReadyAsync(box);
        var cj = new TestUser("cjb", 2254, 4454, 4554);
        await box.MustAsync(cj.Apply(), stdin: cj.TokenStdin, timeout: Bounded);
        const string Spool = """
            echo "crontab=$(stat -c '%U %a' /var/spool/cron/crontabs/cjb 2>/dev/null || echo none)"
            echo "atjob=$(stat -c '%U %a' /var/spool/cron/atjobs/a0000101b2c3d4 2>/dev/null || echo none)"
            echo "job=$(pgrep -u cjb -f '^(/usr/bin/)?sleep 1007$' | wc -l)"
            """;
        var before = OnboardingTests.Facts(await box.ScriptAsync("""
            set -euo pipefail
            getent group crontab >/dev/null || groupadd -r crontab
            install -d -o root -g crontab -m 1730 /var/spool/cron/crontabs
            install -d -o daemon -g daemon -m 1770 /var/spool/cron/atjobs
            printf '* * * * * echo hi\n' > /var/spool/cron/crontabs/cjb
            chown cjb:crontab /var/spool/cron/crontabs/cjb && chmod 0600 /var/spool/cron/crontabs/cjb
            printf '#!/bin/sh\necho hi\n' > /var/spool/cron/atjobs/a0000101b2c3d4
            chown cjb:daemon /var/spool/cron/atjobs/a0000101b2c3d4 && chmod 0700 /var/spool/cron/atjobs/a0000101b2c3d4
            systemd-run --quiet --unit=ws-standin-cron-job -p User=cjb sleep 1007
            for _ in $(seq 1 50); do pgrep -u cjb -f '^(/usr/bin/)?sleep 1007$' >/dev/null && break; sleep 0.1; done
            """ + "\n" + Spool));
        FactAssert.Equal(before,
            ("crontab", "cjb 600"),
            ("atjob", "cjb 700"),
            ("job", "1"));
        var status = JsonDocument.Parse((await box.MustAsync(cj.Status())).Stdout).RootElement.GetProperty("cut");
        Assert.Equal(1, status.GetProperty("cron_jobs").GetInt32());

        var cut = await box.MustAsync(cj.Suspend(), timeout: Bounded);
        Assert.Contains(cut.Changes(), l => l.EndsWith("cjb: 2 cron or at job(s) put aside in /var/spool/cron/workstation-suspended/cjb until resume", StringComparison.Ordinal));
        var aside = OnboardingTests.Facts(await box.ScriptAsync(Spool + "\n" + """
            echo "folder=$(stat -c '%U %a' /var/spool/cron/workstation-suspended/cjb)"
            echo "kept=$(stat -c '%U %a' /var/spool/cron/workstation-suspended/cjb/crontab /var/spool/cron/workstation-suspended/cjb/atjobs/a0000101b2c3d4 | paste -sd,)"
            """));
        FactAssert.Equal(aside,
            ("crontab", "none"),
            ("atjob", "none"),
            ("job", "0"),
            ("folder", "root 700"),
            ("kept", "cjb 600,cjb 700"));
        Assert.Equal(0, JsonDocument.Parse((await box.MustAsync(cj.Status())).Stdout).RootElement.GetProperty("cut").GetProperty("cron_jobs").GetInt32());

        var back = await box.MustAsync(cj.Resume(), timeout: Bounded);
        Assert.Contains(back.Changes(), l => l.EndsWith("cjb: 2 cron or at job(s) back from /var/spool/cron/workstation-suspended/cjb", StringComparison.Ordinal));
        var restored = OnboardingTests.Facts(await box.ScriptAsync(Spool + "\n" + """echo "folder=$(ls /var/spool/cron/workstation-suspended/cjb 2>/dev/null || echo gone)" """));
        FactAssert.Equal(restored,
            ("crontab", "cjb 600"),
            ("atjob", "cjb 700"),
            ("folder", "gone"));
        await box.RunAsync("systemctl reset-failed ws-standin-cron-job.service 2>/dev/null; rm -f /var/spool/cron/crontabs/cjb /var/spool/cron/atjobs/a0000101b2c3d4");
    }

    /// <summary>
    /// An admin demoted with their groups revoked: their t3 (where their terminals run) restarts
    /// at once without the docker gid, and every other process of theirs still holding it (a
    /// session of theirs, one in a user namespace, which keeps the groups it started with) is
    /// ended; nothing waits for them to be idle.
    /// </summary>
    [Fact]
    public async Task A_revoke_restarts_the_persons_units_and_ends_every_process_still_holding_the_group()
    {
        await box.OnboardAsync(Rvk, Bounded, token: true);
        var s = Rules.SubIdStart(Rvk.Uid!.Value);
        string Holders() => $$"""
            gid=$(getent group docker | cut -d: -f3)
            echo "t3=$(systemctl show -p MainPID --value t3-serve@rvk.service)"
            echo "holders=$(for f in /proc/[0-9]*/status; do
              awk -v g="$gid" -v me={{Rvk.Uid}} -v s={{s}} -v n={{Rules.SubIdCount}} '
                $1 == "Uid:" { u = $2 } $1 == "Groups:" { for (i = 2; i <= NF; i++) if ($i == g) held = 1 }
                END { if (held && (u == me || (u >= s && u < s + n))) print FILENAME }' "$f" 2>/dev/null
            done | wc -l)"
            """;
        var before = OnboardingTests.Facts(await box.ScriptAsync($$"""
            set -euo pipefail
            setsid -f runuser -u rvk -- sleep 1004 </dev/null >/dev/null 2>&1
            {{As(Rvk)}} sh -c 'setsid -f unshare --user --map-users={{s}},1,{{Rules.SubIdCount}} --map-groups={{s}},1,{{Rules.SubIdCount}} --setuid 1 sleep 1005 </dev/null >/dev/null 2>&1'
            for _ in $(seq 1 50); do [ "$(pgrep -f '^sleep 100[45]$' | wc -l)" = 2 ] && break; sleep 0.1; done
            {{Holders()}}
            """));
        Assert.True(int.Parse(before["holders"]) >= 3, before["holders"]); // t3, the session, the namespace

        var demoted = await box.MustAsync(HostCommands.Account(Rvk.Derived(tier: "power-user", groups: [], revokeGroups: ["code-shared", "docker", "sudo"])), timeout: Bounded);
        Assert.Contains(demoted.Changes(), l => l.Contains("rvk removed from group docker (revoke_groups)", StringComparison.Ordinal));
        Assert.DoesNotContain("restart pending", demoted.Stdout, StringComparison.Ordinal);
        var after = OnboardingTests.Facts(await box.ScriptAsync(Holders() + "\n" + """echo "sleeps=$(pgrep -f '^sleep 100[45]$' | wc -l)" """));
        FactAssert.Equal(after,
            ("holders", "0"),
            ("sleeps", "0"));
        Assert.NotEqual(before["t3"], after["t3"]);
        Assert.Equal("active", (await box.RunAsync("systemctl is-active t3-serve@rvk.service")).Stdout.Trim());
        var drift = JsonDocument.Parse((await box.MustAsync(Rvk.Status())).Stdout).RootElement.GetProperty("drift");
        Assert.Equal(0, drift.GetArrayLength());
    }

    /// <summary>
    /// A group taken away by hand (not through the roster) leaves a process holding it: `user
    /// status` reports it as drift, and the next account step ends it.
    /// </summary>
    [Fact]
    public async Task A_process_holding_a_group_the_account_lost_is_drift_until_the_account_step_ends_it()
    {
        await box.OnboardAsync(Rvs, Bounded, token: true);
        await box.ScriptAsync("""
            set -euo pipefail
            getent group docker >/dev/null || groupadd -r docker
            gpasswd -a rvs docker >/dev/null
            setsid -f runuser -u rvs -- sleep 1006 </dev/null >/dev/null 2>&1
            for _ in $(seq 1 50); do pgrep -f '^sleep 1006$' >/dev/null && break; sleep 0.1; done
            gpasswd -d rvs docker >/dev/null
            """);
        var drift = JsonDocument.Parse((await box.MustAsync(Rvs.Status())).Stdout).RootElement.GetProperty("drift");
        var stale = Assert.Single(drift.EnumerateArray(), d => d.GetProperty("kind").GetString() == "stale-group");
        Assert.Equal("docker", stale.GetProperty("value").GetString());
        Assert.Contains("still hold group docker", stale.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var applied = await box.MustAsync(Rvs.Account(), timeout: Bounded);
        Assert.Contains(applied.Changes(), l => l.Contains("rvs: ended every process of theirs still holding gid", StringComparison.Ordinal));
        Assert.Equal("0", (await box.MustAsync("pgrep -f '^sleep 1006$' | wc -l")).Stdout.Trim());
        drift = JsonDocument.Parse((await box.MustAsync(Rvs.Status())).Stdout).RootElement.GetProperty("drift");
        Assert.DoesNotContain(drift.EnumerateArray(), d => d.GetProperty("kind").GetString() == "stale-group");
    }
}

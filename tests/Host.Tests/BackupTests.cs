
namespace Host.Tests;

/// <summary>
/// The restore drill (docs/runbooks/restore-home.md): back up, change and delete files, restore
/// into a scratch folder, compare. The repository password only ever travels on stdin.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class BackupTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(120))
{
    private static readonly TestUser Bak = new("bak", 2196, 4196, 4296);
    private const string Password = "drill-pW-8c9d0e";
    private const string Scratch = "/srv/restore-drill";
    private static readonly BackupSettings Settings = new("/srv/restic-drill", 7, 4, 6, "*-*-* 03:00:00");

    /// <summary>The files the seed names for backup (~/.t3 and ~/.claude), each with type, mode, owner, size, mtime and content.</summary>
    private static string Tree(string root, bool filesOnly = false) => $$"""
        set -euo pipefail
        cd {{root}}
        find .t3 .claude {{(filesOnly ? "-type f" : "")}} -printf '%p|%y|%m|%U|%G|%s|%T@\n' | LC_ALL=C sort
        find .t3 .claude -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
        """;

    [Fact]
    public async Task A_restore_drill_brings_back_changed_and_deleted_files_into_a_scratch_folder()
    {
        await box.OnboardAsync(Bak, Bounded, token: true);
        await box.ScriptAsync("""
            set -euo pipefail
            runuser -u bak -- sh -ec '
              cd /home/bak
              mkdir -p .t3/sessions .claude/projects
              printf "session one\n" > .t3/sessions/one.json
              printf "keep me\n" > .t3/sessions/two.json; chmod 0600 .t3/sessions/two.json
              printf "{\"memory\": 1}\n" > .claude/projects/notes.json'
            """);

        var apply = await box.MustAsync(HostCommands.Backup(Settings), stdin: Password + "\n", timeout: Bounded);
        Assert.Contains(apply.Changes(), l => l.Contains("restic repository /srv/restic-drill initialised", StringComparison.Ordinal));
        Assert.DoesNotContain(Password, apply.Stdout + apply.Stderr, StringComparison.Ordinal);
        var files = OnboardingTests.Facts(await box.ScriptAsync($$"""
            echo "password=$(stat -c '%a %U' /etc/workstation/backup.password)"
            echo "leaks=$(grep -rlF '{{Password}}' /etc/workstation --exclude=backup.password | wc -l)"
            echo "timer=$(systemctl is-enabled workstation-backup.timer),$(systemctl is-active workstation-backup.timer)"
            echo "schedule=$(systemctl show -p TimersCalendar --value workstation-backup.timer | grep -o 'OnCalendar=[^;]*' | paste -sd,)"
            """));
        FactAssert.Equal(files,
            ("password", "600 root"),
            ("leaks", "0"),
            ("timer", "enabled,active"));
        Assert.Equal("OnCalendar=*-*-* 03:00:00", files["schedule"].Trim());
        Assert.Empty((await box.MustAsync(HostCommands.Backup(Settings), stdin: Password + "\n", timeout: Bounded)).Changes());

        // What the timer runs, now; then a bad afternoon: one file changed, one deleted.
        await box.MustAsync(HostCommands.Manual.BackupRun, timeout: Bounded);
        var snapshots = await box.MustAsync(HostCommands.Manual.BackupSnapshots, timeout: Bounded);
        Assert.Contains("/home", snapshots.Stdout, StringComparison.Ordinal);
        var before = await box.ScriptAsync(Tree("/home/bak"));
        await box.ScriptAsync("""
            set -euo pipefail
            runuser -u bak -- sh -ec 'echo overwritten > /home/bak/.t3/sessions/one.json; rm /home/bak/.t3/sessions/two.json'
            rm -rf /srv/restore-drill
            """);
        var damaged = await box.ScriptAsync(Tree("/home/bak"));
        Assert.NotEqual(before, damaged);

        var restore = await box.MustAsync(HostCommands.Manual.BackupRestore("bak", Scratch), timeout: Bounded);
        Assert.Contains(restore.Changes(), l => l.Contains($"{Scratch}/home/bak restored from snapshot latest", StringComparison.Ordinal));
        Assert.Equal(before, await box.ScriptAsync(Tree($"{Scratch}/home/bak")));
        Assert.Equal(damaged, await box.ScriptAsync(Tree("/home/bak"))); // the live home is not touched

        // The runbook's copy-back, as the person: the live home's files are whole again (the folders' mtimes moved).
        await box.MustAsync($"runuser -u bak -- cp -a {Scratch}/home/bak/.t3/sessions/two.json /home/bak/.t3/sessions/");
        await box.MustAsync($"runuser -u bak -- cp -a {Scratch}/home/bak/.t3/sessions/one.json /home/bak/.t3/sessions/");
        Assert.Equal(await box.ScriptAsync(Tree($"{Scratch}/home/bak", filesOnly: true)), await box.ScriptAsync(Tree("/home/bak", filesOnly: true)));
        // Nobody else gets in: another person can't list the restored home.
        var other = new TestUser("bak-other", 2197, 4197, 4297);
        await box.MustAsync(other.Apply(), stdin: other.TokenStdin, timeout: Bounded);
        var peek = await box.RunAsync($"runuser -u bak-other -- ls {Scratch}/home/bak");
        Assert.NotEqual(0, peek.ExitCode);

        // The same from the snapshot's id, as `backup snapshots` lists it (the runbook's second form).
        var id = snapshots.Stdout.Split('\n').Select(l => l.Split(' ', 2)[0]).Last(w => System.Text.RegularExpressions.Regex.IsMatch(w, "^[0-9a-f]{8}$")); // the newest: the one just taken
        await box.MustAsync(HostCommands.Manual.BackupRestore("bak", Scratch + "-by-id", id), timeout: Bounded);
        Assert.Equal(before, await box.ScriptAsync(Tree($"{Scratch}-by-id/home/bak")));
        await box.MustAsync($"rm -rf {Scratch}-by-id");

        // Never over something: a non-empty target is refused; /home is not a target.
        var again = await box.RunAsync(HostCommands.Manual.BackupRestore("bak", Scratch), timeout: Bounded);
        Assert.True(again.ExitCode == 3, again.ToString());
        var live = await box.RunAsync(HostCommands.Manual.BackupRestore("bak", "/home/restore"), timeout: Bounded);
        Assert.True(live.ExitCode == 2, live.ToString());
        await box.MustAsync($"rm -rf {Scratch}");
    }
    private static readonly TestUser Bkx = new("bkx", 2507, 4507, 4607);

    /// <summary>
    /// Attack (issue 25 §5): what bkx can make in their home can't stall everyone's backup, and no
    /// folder of theirs (or the world-writable /tmp) is ever where root restores. As bkx: a 64G
    /// sparse file named with a newline, a FIFO, a link to /etc/shadow. The backup skips the big
    /// file and names it quoted, within seconds; a restore target below a folder bkx owns, or below
    /// /tmp, is refused with nothing written; a repository URL with user:password@ is refused; and
    /// the files under /etc/workstation that hold more than names and numbers are root's 0600.
    /// (The box has no /dev/fuse, so a FUSE mount in the home is not played here: the backup's
    /// --one-file-system and the purge's --one-file-system are what keep one out.)
    /// </summary>
    [Fact]
    public async Task What_a_person_makes_in_their_home_cannot_stall_the_backup_or_choose_where_root_restores()
    {
        await box.OnboardAsync(Bkx, Bounded);
        try
        {
            await box.ScriptAsync("""
                runuser -u bkx -- sh -ec 'cd ~; truncate -s 64G "$(printf "big\nfile")"; mkfifo pipe; ln -s /etc/shadow shadow; echo kept > small.txt'
                install -d -o bkx -m 0755 /srv/bkx-owned
                """);
            var creds = await box.RunAsync(HostCommands.Backup(new BackupSettings("rest:https://u:pw@backup.example.test/r", 1, 0, 0, "daily")), stdin: "bkx-pW\n");
            Assert.Equal(2, creds.ExitCode);
            Assert.Contains("--repository: must not carry credentials", creds.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("pw@", creds.Stderr, StringComparison.Ordinal);

            await box.MustAsync(HostCommands.Backup(new BackupSettings("/srv/restic-bkx", 1, 0, 0, "daily")), stdin: "bkx-pW\n", timeout: Bounded);
            var run = await box.MustAsync(HostCommands.Manual.BackupRun, timeout: TimeSpan.FromSeconds(60));
            Assert.Contains("not backed up (larger than 4G): $'/home/bkx/big\\nfile'", run.Stderr, StringComparison.Ordinal);
            Assert.Contains("TimeoutStartSec=", (await box.MustAsync("systemctl cat workstation-backup.service")).Stdout, StringComparison.Ordinal);

            foreach (var planted in new[] { "/srv/bkx-owned/restore", "/tmp/bkx-restore" })
            {
                var refused = await box.RunAsync(HostCommands.Manual.BackupRestore("bkx", planted), timeout: Bounded);
                Assert.True(refused.ExitCode == 3, refused.ToString());
                Assert.Contains("is not a directory only root can change", refused.Stderr, StringComparison.Ordinal);
                Assert.Equal("absent", (await box.ScriptAsync($"test -e {planted} && echo present || echo absent")).Trim());
            }

            await box.MustAsync(HostCommands.Manual.BackupRestore("bkx", "/srv/restore-bkx"), timeout: Bounded);
            var f = OnboardingTests.Facts(await box.ScriptAsync("""
                cd /srv/restore-bkx/home/bkx
                echo "small=$(cat small.txt)"
                echo "big=$(find . -name 'big*' | wc -l)"
                echo "pipe=$(test -p pipe && echo fifo || echo missing)"
                echo "target=$(stat -c '%U %a' /srv/restore-bkx)"
                """));
            FactAssert.Equal(f,
                ("small", "kept"),
                ("big", "0"),
                ("pipe", "fifo"),
                ("target", "root 711"));

            // Readable by others: only files of names and numbers (ports, tiers and groups, uids and
            // ports of the firewall's ruleset, hashes of files, tool pins, the playwright MCP entry the program wrote: a loopback URL), and the two a person's own processes read: site.env (t3's command
            // line and the site's URLs, never a credential: those are refused) and clone.gitconfig.
            var open = (await box.ScriptAsync("find /etc/workstation -type f -perm /044 -printf '%P\\n' | LC_ALL=C sort")).Trim().Split('\n');
            var allowed = new System.Text.RegularExpressions.Regex(@"^(site\.env|clone\.gitconfig|owned\.sha256|firewall\.nft|(t3|playwright|user)-[a-z0-9_-]+\.env|playwright-entry-[a-z0-9_-]+\.json|tools/[A-Za-z0-9_.-]+)$");
            Assert.All(open, p => Assert.Matches(allowed, p));
            Assert.Equal("600 600", (await box.ScriptAsync("stat -c %a /etc/workstation/backup.env /etc/workstation/backup.password | paste -sd' '")).Trim());
        }
        finally
        {
            await box.RunAsync("rm -rf /srv/restore-bkx /srv/bkx-owned /srv/restic-bkx /tmp/bkx-restore; rm -f '/home/bkx/big'*; true");
            await box.MustAsync(Bkx.Suspend());
        }
    }
}

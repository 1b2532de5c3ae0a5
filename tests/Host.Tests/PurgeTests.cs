
namespace Host.Tests;

/// <summary>
/// Purge is explicit and acts only on a cut person: it archives the whole home, reads the archive
/// back against its manifest, and only then deletes the account; `user restore` brings the home back
/// byte for byte under the same uid. Renaming an os_user is refused with the way to do it.
/// </summary>
[Collection(SandboxCollection3.Name)]
public sealed class PurgeTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(90))
{
    private static readonly TestUser Pru = new("pru", 2191, 4191, 4291);

    /// <summary>Everything restore must bring back: type, mode, owner, size, mtime (sub-second) and link target, plus content.</summary>
    private const string Tree = """
        set -euo pipefail
        [ -d /home/pru ] || { echo "no home"; exit 0; }
        find /home/pru -printf '%P|%y|%m|%U|%G|%s|%T@|%l\n' | LC_ALL=C sort
        cd /home/pru && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
        """;

    [Fact]
    public async Task Purge_archives_checks_then_deletes_and_restore_brings_the_home_back_byte_for_byte()
    {
        await box.OnboardAsync(Pru, Bounded, token: true);
        await box.ScriptAsync("""
            set -euo pipefail
            runuser -u pru -- sh -ec '
              cd /home/pru
              mkdir -p notes/deep empty-dir
              printf "private\n" > notes/secret.txt; chmod 0640 notes/secret.txt
              printf "with a space\n" > "notes/a file.txt"
              ln -s notes/secret.txt link-to-secret
              ln -s /nonexistent dangling
              head -c 100000 /dev/urandom > notes/deep/blob.bin
              touch -d "2021-03-04 05:06:07.123456789" notes/deep/blob.bin notes/deep
              chmod 0750 notes'
            """);

        // Not cut yet: refused, nothing touched.
        var early = await box.RunAsync(Pru.Purge(), timeout: Bounded);
        Assert.True(early.ExitCode == 3, early.ToString());
        Assert.Contains("pru is not cut", early.Stderr, StringComparison.Ordinal);

        // The cut the program makes first (retire: the steps' deletes), then the purge step.
        await box.MustAsync(Pru.StopServices(), timeout: Bounded);
        await box.MustAsync(Pru.Suspend(), timeout: Bounded);
        var before = await box.ScriptAsync(Tree);
        Assert.Contains("|l|777|2191|", before, StringComparison.Ordinal);
        Assert.Contains("notes/deep/blob.bin|f|644|2191|", before, StringComparison.Ordinal);

        var purge = await box.MustAsync(Pru.Purge(), timeout: Bounded);
        var line = Assert.Single(purge.Changes(), l => l.Contains("purged pru (uid 2191): archive ", StringComparison.Ordinal));
        var archive = line[(line.IndexOf("archive ", StringComparison.Ordinal) + 8)..line.IndexOf(',', StringComparison.Ordinal)];
        Assert.Matches(@"^/var/backups/workstation/homes/pru-2191-\d{8}T\d{6}Z\.tar\.gz$", archive);
        var gone = OnboardingTests.Facts(await box.ScriptAsync($$"""
            echo "account=$(getent passwd pru >/dev/null && echo yes || echo no)"
            echo "home=$(test -e /home/pru && echo yes || echo no)"
            echo "archive=$(stat -c '%a %U' {{archive}})"
            echo "manifest=$(stat -c '%a %U' {{archive[..^7]}}.sha256)"
            echo "dir=$(stat -c '%a %U' /var/backups/workstation/homes)"
            echo "record=$(sed -n 's/^ARCHIVE=//p' /etc/workstation/purged/pru)"
            echo "budgets=$(ls -d /etc/systemd/system/workstation-pru.slice.d /etc/systemd/system/user-2191.slice.d 2>/dev/null | wc -l)"
            """));
        FactAssert.Equal(gone,
            ("account", "no"),
            // A later account with uid 2191 must not inherit pru's budget.
            ("budgets", "0"),
            ("home", "no"),
            ("archive", "600 root"),
            ("manifest", "600 root"),
            ("dir", "700 root"),
            ("record", archive));

        // The purge Command re-run (or a later up) finds nothing left to do and says where the archive is.
        var again = await box.MustAsync(Pru.Purge(), timeout: Bounded);
        Assert.Empty(again.Changes());
        Assert.Contains($"pru is purged already: archive {archive}", again.Stdout, StringComparison.Ordinal);

        // Restore: byte for byte, same uid, and still cut until the roster brings pru back.
        var restore = await box.MustAsync(Pru.Restore(archive), timeout: Bounded);
        Assert.Contains(restore.Changes(), l => l.Contains("account pru (uid 2191), cut", StringComparison.Ordinal));
        Assert.Equal(before, await box.ScriptAsync(Tree));
        var status = await box.MustAsync(Pru.Status());
        Assert.Contains("\"state\":\"suspended\"", status.Stdout, StringComparison.Ordinal);
        Assert.True((await box.RunAsync(Pru.Restore(archive))).ExitCode == 3, "a second restore over the account was not refused");

        // Brought back by the roster: the same steps as any bring-back.
        await box.MustAsync(Pru.Apply(), stdin: Pru.TokenStdin, timeout: Bounded);
        Assert.Equal("active,active", (await box.MustAsync("systemctl is-active t3-serve@pru.service playwright-mcp@pru.service | paste -sd,")).Stdout.Trim());
    }

    [Fact]
    public async Task A_tampered_archive_is_refused_by_restore_and_nothing_is_created()
    {
        await HostWorld.ReadyAsync(box);
        var tam = new TestUser("tam", 2192, 4192, 4292);
        await box.MustAsync(tam.Apply(), stdin: tam.TokenStdin, timeout: Bounded);
        await box.MustAsync(tam.StopServices(), timeout: Bounded);
        await box.MustAsync(tam.Suspend(), timeout: Bounded);
        var purge = await box.MustAsync(tam.Purge(), timeout: Bounded);
        var archive = (await box.MustAsync("sed -n 's/^ARCHIVE=//p' /etc/workstation/purged/tam")).Stdout.Trim();
        Assert.Contains(purge.Changes(), l => l.Contains(archive, StringComparison.Ordinal));

        // One manifest line no longer matches the archive's file.
        await box.MustAsync($"sed -i '1s/^[0-9a-f]\\{{64\\}}/{new string('0', 64)}/' {archive[..^7]}.sha256");
        var refused = await box.RunAsync(tam.Restore(archive), timeout: Bounded);
        Assert.True(refused.ExitCode == 3, refused.ToString());
        Assert.Contains("does not match its manifest", refused.Stderr, StringComparison.Ordinal);
        Assert.Equal("none", (await box.MustAsync("getent passwd tam || echo none; test -e /home/tam && echo home || true")).Stdout.Trim());
    }

    [Fact]
    public async Task Purge_refuses_the_admin_and_an_account_it_does_not_manage()
    {
        await HostWorld.ReadyAsync(box);
        await box.ScriptAsync("getent passwd eve >/dev/null || useradd -m -u 7005 -s /bin/bash eve");
        var unmanaged = await box.RunAsync(TestUser.Named("eve").Purge(), timeout: Bounded);
        Assert.True(unmanaged.ExitCode == 3, unmanaged.ToString());
        Assert.Contains("not managed", unmanaged.Stderr, StringComparison.Ordinal);

        var wiz = new TestUser(HostWorld.Admin, 2000, 3773, 8931, "admin");
        await box.MustAsync(wiz.Apply(), stdin: wiz.TokenStdin, timeout: Bounded);
        var admin = await box.RunAsync(wiz.Purge(), timeout: Bounded);
        Assert.True(admin.ExitCode == 3, admin.ToString());
        Assert.Contains("wiz is the admin", admin.Stderr, StringComparison.Ordinal);
        Assert.Equal("yes", (await box.MustAsync("test -d /home/wiz && getent passwd wiz >/dev/null && echo yes")).Stdout.Trim());
    }

    /// <summary>A roster that renames a person (same pinned uid, new os_user) is refused with how to do it.</summary>
    [Fact]
    public async Task Renaming_an_os_user_is_refused_with_the_way_to_do_it()
    {
        await HostWorld.ReadyAsync(box);
        var old = new TestUser("ren-old", 2193, 4193, 4293);
        await box.MustAsync(old.Apply(), stdin: old.TokenStdin, timeout: Bounded);
        await using var quiet = await box.QuietAsync();
        var before = await box.ScriptAsync(HostWorld.Snapshot);

        var renamed = await box.RunAsync(new TestUser("ren-new", 2193, 4193, 4293).Apply(), stdin: old.TokenStdin, timeout: Bounded);
        Assert.True(renamed.ExitCode == 3, renamed.ToString());
        Assert.Contains(
            "uid 2193 is already used by ren-old, a managed account: an os_user can't be renamed. " +
            "To rename ren-old to ren-new: move ren-old to retired: (it keeps uid 2193) and add ren-new with another uid, then pulumi up. " +
            "To carry the files over afterwards, as root: cp -a /home/ren-old/. /home/ren-new/ && chown -R ren-new:ren-new /home/ren-new",
            renamed.Stderr, StringComparison.Ordinal);
        await box.AssertSameAsync(before, await box.ScriptAsync(HostWorld.Snapshot), "a refused rename changed the host");
    }

    /// <summary>
    /// The attacker is the person being archived: before the cut they plant a FIFO (a read would
    /// hang root's run) and symlinks to /etc/shadow and to / (a read through them would copy root's
    /// secrets into an archive). The backup and the purge both finish in bounded time and store the
    /// links as links and the FIFO as a FIFO: no byte of /etc/shadow lands in either.
    /// </summary>
    [Fact]
    public async Task A_planted_fifo_or_symlink_never_makes_backup_or_purge_read_through_it()
    {
        await HostWorld.ReadyAsync(box);
        var atk = new TestUser("atk", 2188, 4188, 4288);
        await box.MustAsync(atk.Apply(), stdin: atk.TokenStdin, timeout: Bounded);
        await box.MustAsync("runuser -u atk -- sh -ec 'mkdir -p ~/.t3 && mkfifo ~/.t3/pipe && ln -s /etc/shadow ~/.t3/shadow && ln -s / ~/.t3/root'", timeout: Bounded);
        // (Not `! grep`: set -e ignores a negated command, so it could never fail the script.)
        static string NoShadow(string where) => $"if {where} | grep -qa '^root:[*!$]'; then echo 'a line of /etc/shadow leaked into {where}' >&2; exit 1; fi\n";

        await box.MustAsync(HostCommands.Backup(new BackupSettings("/srv/restic-attack", 1, 0, 0, "daily")), stdin: "attack-pW\n", timeout: Bounded);
        await box.MustAsync(HostCommands.Manual.BackupRun, timeout: Bounded);
        await box.MustAsync(HostCommands.Manual.BackupRestore("atk", "/srv/restore-attack"), timeout: Bounded);
        await box.ScriptAsync("""
            set -euo pipefail
            cd /srv/restore-attack/home/atk/.t3
            test -p pipe
            test -L shadow
            test -L root
            [ "$(readlink shadow)" = /etc/shadow ]
            """ + "\n" + NoShadow("find /srv/restore-attack -type f -exec cat {} +") + "rm -rf /srv/restore-attack\n", Bounded);

        await box.MustAsync(atk.StopServices(), timeout: Bounded);
        await box.MustAsync(atk.Suspend(), timeout: Bounded);
        await box.MustAsync(atk.Purge(), timeout: Bounded);
        await box.ScriptAsync("""
            set -euo pipefail
            a=$(sed -n 's/^ARCHIVE=//p' /etc/workstation/purged/atk)
            tar -tvzf "$a" > /tmp/atk-listing
            grep -q '^p.* atk/.t3/pipe$' /tmp/atk-listing
            grep -q '^l.* atk/.t3/shadow -> /etc/shadow$' /tmp/atk-listing
            rm -f /tmp/atk-listing
            """ + "\n" + NoShadow("zcat \"$a\""), Bounded);
    }
    /// <summary>
    /// Attack (issue 25 §5): the purge reads everything in the home as root. prg leaves a name with
    /// a newline, a 512M sparse file, a FIFO and a link to /etc/shadow; the purge archives them (the
    /// sparse file as sparse, the FIFO and link as themselves) and its check counts a name with a
    /// newline once, so it completes; an archive folder below a folder prg owns is refused before
    /// anything is archived or deleted.
    /// </summary>
    [Fact]
    public async Task What_a_person_leaves_in_their_home_neither_stalls_nor_breaks_the_purge_nor_chooses_its_folder()
    {
        var prg = new TestUser("prg", 2508, 4508, 4608);
        await box.OnboardAsync(prg, Bounded);
        await box.ScriptAsync("""
            runuser -u prg -- sh -ec 'cd ~; printf "two\n" > "$(printf "line\nbreak")"; truncate -s 512M sparse.img; mkfifo pipe; ln -s /etc/shadow shadow'
            install -d -o prg -m 0755 /srv/prg-owned
            """);
        await box.MustAsync(prg.StopServices(), timeout: Bounded);
        await box.MustAsync(prg.Suspend(), timeout: Bounded);
        try
        {
            var planted = await box.RunAsync(prg.Purge("/srv/prg-owned/archives"), timeout: Bounded);
            Assert.True(planted.ExitCode == 3, planted.ToString());
            Assert.Contains("/srv/prg-owned is not a directory only root can change", planted.Stderr, StringComparison.Ordinal);
            Assert.Equal("absent yes", (await box.ScriptAsync("echo \"$(test -e /srv/prg-owned/archives && echo present || echo absent) $(getent passwd prg >/dev/null && echo yes || echo no)\"")).Trim());

            var purge = await box.MustAsync(prg.Purge(), timeout: TimeSpan.FromSeconds(120));
            Assert.Contains(purge.Changes(), l => l.Contains("purged prg (uid 2508)", StringComparison.Ordinal));
            var listing = await box.ScriptAsync("a=$(sed -n 's/^ARCHIVE=//p' /etc/workstation/purged/prg); tar -tvzf \"$a\"");
            Assert.Contains("prg/line\\nbreak", listing, StringComparison.Ordinal);
            Assert.Contains("prg/sparse.img", listing, StringComparison.Ordinal);
            Assert.Matches(@"(?m)^p.* prg/pipe$", listing);
        }
        finally
        {
            await box.RunAsync("rm -rf /srv/prg-owned; true");
        }
    }
}

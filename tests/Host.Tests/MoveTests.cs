
namespace Host.Tests;

/// <summary>The tests that need two devvms at once: a collection of their own, with its two boxes.</summary>
[CollectionDefinition(Name)]
public sealed class FleetCollection : ICollectionFixture<FleetFixture>
{
    public const string Name = "sandbox, fleet";
}

/// <summary>
/// Two sandbox devvms, A and B: two named boxes of this run (each fixture is a named instance
/// of its own on a port of its own, as every collection's box), each with host/ installed and the site applied.
/// The move repository is a restic sftp repository in A (/srv/move-repo), which B reaches as
/// a second devvm reaches the first: over a veth pair between the two boxes' own network
/// namespaces (10.206.0.1 is A, 10.206.0.2 is B; nothing is added to this machine's
/// namespace), through a second sshd of A's listening on 10.206.0.1 only, with B's root key
/// authorised and A's host key pinned in B. A reaches the same repository by its path.
/// </summary>
public sealed class FleetFixture : IAsyncLifetime
{
    public const string RepoPath = "/srv/move-repo";
    public const string RepoFromB = "sftp:root@10.206.0.1:" + RepoPath;

    public FleetFixture(IMessageSink sink)
    {
        A = new SandboxFixture(sink);
        B = new SandboxFixture(sink); // each fixture is a named box of its own, on a port of its own
    }

    public SandboxFixture A { get; }
    public SandboxFixture B { get; }

    private static string Num(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public async Task InitializeAsync()
    {
        await Task.WhenAll(A.InitializeAsync(), B.InitializeAsync());
        await Task.WhenAll(ReadyAsync(A), ReadyAsync(B));
        await LinkAsync();
    }

    public async Task DisposeAsync()
    {
        // Powering a box off deletes its namespace, and the veth end in it with it.
        await Task.WhenAll(A.DisposeAsync(), B.DisposeAsync());
    }

    /// <summary>What HostWorld.ReadyAsync does for the shared box, for each of the two.</summary>
    private static async Task ReadyAsync(SandboxFixture box)
    {
        await box.MustAsync(HostCommands.Install, stdin: HostWorld.HostBundle(box.RepoRoot));
        await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot), timeout: TimeSpan.FromMinutes(15));
        await box.MustAsync("bash -s", stdin: HostWorld.MakeFixtureRepo);
        await box.MustAsync(HostWorld.SiteCommand());
    }

    private static async Task<int> InitPidAsync(SandboxFixture box)
    {
        var status = await box.SandboxAsync("status");
        var m = Regex.Match(status.Stdout, @"init pid (\d+)");
        Assert.True(m.Success, $"sandbox.sh status names no init pid:\n{status}");
        return int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>B powered off (its namespace, and the veth end in it, go with it): what a dead devvm looks like.</summary>
    public Task<SshResult> PowerOffBAsync() => B.SandboxAsync("down");

    /// <summary>B booted again as a fresh box, set up as at the start, and joined to A again.</summary>
    public async Task ReviveBAsync()
    {
        await B.InitializeAsync();
        await ReadyAsync(B);
        await LinkAsync();
    }

    /// <summary>The veth pair, A's sftp-only listener, and B's root trusted by A's.</summary>
    private async Task LinkAsync()
    {
        var a = await InitPidAsync(A);
        var b = await InitPidAsync(B);
        var link = await SandboxFixture.RunLocalAsync("bash", ["-c", """
            set -euo pipefail
            a="$1"; b="$2"
            ip link add wsmv-a netns "$a" type veth peer name wsmv-b netns "$b"
            nsenter --net="/proc/$a/ns/net" sh -ec 'ip addr add 10.206.0.1/30 dev wsmv-a; ip link set wsmv-a up'
            nsenter --net="/proc/$b/ns/net" sh -ec 'ip addr add 10.206.0.2/30 dev wsmv-b; ip link set wsmv-b up'
            """, "bash", Num(a), Num(b)]);
        Assert.True(link.ExitCode == 0, link.ToString());
        await A.MustAsync("systemctl stop ws-move-sshd 2>/dev/null; systemctl reset-failed ws-move-sshd 2>/dev/null; " +
            "systemd-run --quiet --unit ws-move-sshd /usr/sbin/sshd -D -p 22 -o ListenAddress=10.206.0.1");
        var key = await B.ScriptAsync("""
            set -euo pipefail
            rm -f /root/.ssh/move_key /root/.ssh/move_key.pub
            mkdir -p -m 700 /root/.ssh
            ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/move_key
            cat /root/.ssh/move_key.pub
            """);
        var hostKey = (await A.ScriptAsync("cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub")).Trim();
        await A.MustAsync("cat >> /root/.ssh/authorized_keys", stdin: key);
        await B.MustAsync("bash -s", stdin: $$"""
            set -euo pipefail
            printf '%s\n' '10.206.0.1 {{hostKey}}' > /root/.ssh/known_hosts
            printf '%s\n' 'Host 10.206.0.1' '  IdentityFile /root/.ssh/move_key' '  IdentitiesOnly yes' '  BatchMode yes' \
              '  StrictHostKeyChecking yes' '  ConnectTimeout 10' > /root/.ssh/config
            ssh 10.206.0.1 true
            """);
    }
}

/// <summary>
/// Moving a person between two devvms (issue 27 §2, docs/runbooks/move-person.md): `user
/// move-out` on A (the offboarding cut, then a final restic snapshot of the home), `user
/// move-in` on B (the account with the same uid, left cut, and the home from the snapshot,
/// renamed into place only once whole), then the account step on B resumes them.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class MoveTests(FleetFixture fleet) : BoxTests(TimeSpan.FromSeconds(180))
{
    private const string Password = "move-pW-41d7c2";
    private static readonly TestUser Mva = TestUser.Numbered("mva", 2760, 6060);
    private static readonly TestUser Mvb = TestUser.Numbered("mvb", 2761, 6061);
    private static readonly TestUser Mvc = TestUser.Numbered("mvc", 2762, 6062);

    private SandboxFixture A => fleet.A;
    private SandboxFixture B => fleet.B;

    /// <summary>The verbs as the program sends them (HostCommands, tests/golden/move-commands.txt): the password on stdin, never in the line.</summary>
    public static string MoveOut(string user, string repo) => HostCommands.MoveOut(user, repo);

    public static string MoveIn(string user, int uid, string snapshot, string repo) => HostCommands.MoveIn(user, uid, snapshot, repo);

    /// <summary>
    /// Every name below the home, byte for byte: type, mode, owner and group (by name: the gid
    /// may differ between hosts), size, mtime, link target, then the sha256 of every regular file.
    /// </summary>
    private static string Tree(string user) => $$"""
        set -euo pipefail
        cd /home/{{user}}
        find . -xdev -printf '%p|%y|%m|%u|%g|%s|%T@|%l\n' | LC_ALL=C sort
        find . -xdev -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
        """;

    /// <summary>A home with a bit of everything a person keeps, made as the person.</summary>
    private static string Furnish(string user) => $$"""
        set -euo pipefail
        runuser -u {{user}} -- sh -ec '
          cd ~
          mkdir -p notes/deep/er bin .t3/sessions; chmod 0750 notes; chmod 0700 notes/deep
          printf "private\n" > notes/deep/er/secret.txt; chmod 0600 notes/deep/er/secret.txt
          printf "#!/bin/sh\necho hi\n" > bin/hello; chmod 0755 bin/hello
          printf "group-readable\n" > notes/shared.txt; chmod 0640 notes/shared.txt
          : > empty
          head -c 300000 /dev/urandom > blob.bin
          printf "with a newline\n" > "$(printf "odd\nname")"
          printf "{\"s\":1}\n" > .t3/sessions/one.json
          ln -s notes/shared.txt rel-link
          ln -s /etc/shadow shadow-link
          ln -s /nowhere/at/all dangling
          ln blob.bin blob.hardlink
          mkfifo pipe
          touch -d "2001-02-03 04:05:06.123456789" notes/shared.txt'
        """;

    private static string SnapshotOf(SshResult r)
    {
        var m = Regex.Match(r.Stdout, @"^snapshot ([0-9a-f]{64})$", RegexOptions.Multiline);
        Assert.True(m.Success, $"move-out printed no snapshot id:\n{r}");
        return m.Groups[1].Value;
    }

    private static async Task<Dictionary<string, string>> AccountAsync(SandboxFixture box, string user) =>
        OnboardingTests.Facts(await box.ScriptAsync($$"""
            echo "passwd=$(getent passwd {{user}} | cut -d: -f3 || echo none)"
            echo "lock=$(passwd -S {{user}} 2>/dev/null | cut -d' ' -f2 || echo none)"
            echo "expire=$(getent shadow {{user}} | cut -d: -f8)"
            echo "suspended=$(test -f /etc/workstation/suspended/{{user}} && echo yes || echo no)"
            echo "home=$(test -d /home/{{user}} && echo yes || echo no)"
            echo "procs=$(ps -U {{user}} -o pid= 2>/dev/null | wc -l)"
            echo "scratch=$(ls -A /home/.ws-move-in 2>/dev/null | wc -l)"
            """));

    [Fact]
    public async Task Moving_a_person_carries_their_home_byte_for_byte_and_leaves_them_cut_on_the_old_host()
    {
        await A.MustAsync(Mva.Apply(), stdin: Mva.TokenStdin, timeout: Bounded);
        await A.MustAsync("bash -s", stdin: Furnish(Mva.Name));
        // The git-crypt clone the code step made stays locked: the ciphertext moves, never the plaintext.
        var locked = await A.ScriptAsync($"grep -c 'top secret' /home/{Mva.Name}/code/secret.txt || true");
        Assert.Equal("0", locked.Trim());
        // On B the uid's number is taken as a gid, so the person's group gets another gid there: the owners are mapped.
        await B.MustAsync("groupadd -g 2760 mv-gid-squat");

        var outRun = await A.MustAsync(MoveOut(Mva.Name, FleetFixture.RepoPath), stdin: Password + "\n", timeout: Bounded);
        var snapshot = SnapshotOf(outRun);
        Assert.DoesNotContain(Password, outRun.Stdout + outRun.Stderr, StringComparison.Ordinal);
        var cutA = await AccountAsync(A, Mva.Name);
        Assert.Equal(("L", "1", "yes", "0"), (cutA["lock"], cutA["expire"], cutA["suspended"], cutA["procs"]));
        var record = OnboardingTests.Facts(await A.ScriptAsync($"stat -c 'mode=%a %U' /etc/workstation/moved/{Mva.Name}; cat /etc/workstation/moved/{Mva.Name}"));
        FactAssert.Equal(record,
            ("mode", "600 root"),
            ("SNAPSHOT", snapshot));
        var before = await A.ScriptAsync(Tree(Mva.Name));

        // Idempotent: nothing changed, so the same snapshot, and no change reported.
        var again = await A.MustAsync(MoveOut(Mva.Name, FleetFixture.RepoPath), stdin: Password + "\n", timeout: Bounded);
        Assert.Equal(snapshot, SnapshotOf(again));
        Assert.DoesNotContain(again.Changes(), l => l.Contains("snapshot", StringComparison.Ordinal));

        var inRun = await B.RunAsync(MoveIn(Mva.Name, 2760, snapshot[..8], FleetFixture.RepoFromB), stdin: Password + "\n", timeout: Bounded);
        // Root's mapping of the owners never went through the person's link to /etc/shadow (checked first: whatever the run's end).
        Assert.Equal("/etc/shadow root shadow 640", (await B.ScriptAsync("stat -c '%n %U %G %a' /etc/shadow")).Trim());
        Assert.True(inRun.ExitCode == 0, inRun.ToString());
        Assert.Contains(inRun.Changes(), l => l.Contains($"/home/{Mva.Name} restored from snapshot {snapshot[..8]}", StringComparison.Ordinal));
        Assert.Equal(before, await B.ScriptAsync(Tree(Mva.Name)));
        var onB = await AccountAsync(B, Mva.Name);
        Assert.Equal(("2760", "1", "yes", "0"), (onB["passwd"], onB["expire"], onB["suspended"], onB["scratch"]));
        Assert.NotEqual("2760", (await B.ScriptAsync($"id -g {Mva.Name}")).Trim());
        // The person's link to /etc/shadow was restored as a link (the tree above), and stays one.
        Assert.Equal("/etc/shadow", (await B.ScriptAsync($"readlink /home/{Mva.Name}/shadow-link")).Trim());
        // Still locked on B: the ciphertext, as on A.
        Assert.Equal("0", (await B.ScriptAsync($"grep -c 'top secret' /home/{Mva.Name}/code/secret.txt || true")).Trim());
        // A second move-in of the same snapshot is a no-op; A is untouched by all of it.
        Assert.Empty((await B.MustAsync(MoveIn(Mva.Name, 2760, snapshot, FleetFixture.RepoFromB), stdin: Password + "\n", timeout: Bounded)).Changes());
        Assert.Equal(before, await A.ScriptAsync(Tree(Mva.Name)));

        // Step 5 on B: the account step resumes them there, their files as they were.
        await B.MustAsync(Mva.Account(), timeout: Bounded);
        var resumed = await AccountAsync(B, Mva.Name);
        Assert.Equal(("", "no"), (resumed["expire"], resumed["suspended"]));
        Assert.Equal("private", (await B.ScriptAsync($"runuser -u {Mva.Name} -- cat /home/{Mva.Name}/notes/deep/er/secret.txt")).Trim());
        Assert.NotEqual(0, (await B.RunAsync($"runuser -u {Mva.Name} -- cat /etc/shadow")).ExitCode);
    }

    [Fact]
    public async Task A_failed_restore_on_the_new_host_leaves_the_person_whole_and_cut_on_the_old_one()
    {
        const string repo = "/srv/move-repo-broken";
        const string repoFromB = "sftp:root@10.206.0.1:" + repo;
        await A.MustAsync(Mvb.Apply(tokenStdin: false), timeout: Bounded);
        await A.MustAsync("bash -s", stdin: Furnish(Mvb.Name));
        var snapshot = SnapshotOf(await A.MustAsync(MoveOut(Mvb.Name, repo), stdin: Password + "\n", timeout: Bounded));
        var before = await A.ScriptAsync(Tree(Mvb.Name));

        // A snapshot id the repository does not have: refused before anything is made on B.
        var wrong = await B.RunAsync(MoveIn(Mvb.Name, 2761, "deadbeef", repoFromB), stdin: Password + "\n", timeout: Bounded);
        Assert.True(wrong.ExitCode == 3, wrong.ToString());
        Assert.Contains("has no snapshot deadbeef of /home/mvb", wrong.Stderr, StringComparison.Ordinal);
        var untouched = await AccountAsync(B, Mvb.Name);
        Assert.Equal(("", "no"), (untouched["passwd"], untouched["home"]));

        // The repository's data damaged: the restore fails, and nothing half-restored is the home.
        await A.MustAsync($"cp -a {repo} {repo}.good && for f in $(find {repo}/data -type f); do chmod u+w $f; head -c 4096 /dev/urandom | dd of=$f bs=4096 seek=0 conv=notrunc status=none; done");
        var broken = await B.RunAsync(MoveIn(Mvb.Name, 2761, snapshot, repoFromB), stdin: Password + "\n", timeout: Bounded);
        Assert.True(broken.ExitCode == 1, broken.ToString());
        Assert.Contains("nothing was put in /home/mvb", broken.Stderr, StringComparison.Ordinal);
        var onB = await AccountAsync(B, Mvb.Name);
        Assert.Equal(("2761", "1", "yes", "0"), (onB["passwd"], onB["expire"], onB["suspended"], onB["scratch"]));
        Assert.Equal("", (await B.ScriptAsync("cd /home/mvb && find . -mindepth 1 -printf '%P\\n' | LC_ALL=C sort | comm -23 - <(cd /etc/skel && find . -mindepth 1 -printf '%P\\n' | LC_ALL=C sort)")).Trim());

        // On A: the home as it was, the person cut, and resumable there.
        Assert.Equal(before, await A.ScriptAsync(Tree(Mvb.Name)));
        var cutA = await AccountAsync(A, Mvb.Name);
        Assert.Equal(("1", "yes"), (cutA["expire"], cutA["suspended"]));

        // Finishing: with the repository mended, the same move-in completes over the cut, bare account.
        await A.MustAsync($"rm -rf {repo} && mv {repo}.good {repo}");
        await B.MustAsync(MoveIn(Mvb.Name, 2761, snapshot, repoFromB), stdin: Password + "\n", timeout: Bounded);
        Assert.Equal(before, await B.ScriptAsync(Tree(Mvb.Name)));
        // …and a move-in never overwrites a home that holds files of its own.
        var over = await B.RunAsync(MoveIn(Mvb.Name, 2761, "0123abcd", repoFromB), stdin: Password + "\n", timeout: Bounded);
        Assert.True(over.ExitCode == 3, over.ToString());
        Assert.Contains("its home holds files of its own", over.Stderr, StringComparison.Ordinal);

        // Rolling back instead: the account step resumes them on A, home and all.
        await A.MustAsync(Mvb.Account(), timeout: Bounded);
        var resumedA = await AccountAsync(A, Mvb.Name);
        Assert.Equal(("", "no"), (resumedA["expire"], resumedA["suspended"]));
    }

    private static readonly TestUser Mvd = TestUser.Numbered("mvd", 2763, 6063);
    private static readonly TestUser Mpa = TestUser.Numbered("mpa", 2764, 6064);
    private static readonly TestUser Mpb = TestUser.Numbered("mpb", 2765, 6065);
    private static readonly TestUser Mpc = TestUser.Numbered("mpc", 2766, 6066);

    /// <summary>
    /// Issue 27 §3: one box powered off during an up. B dies while its person's steps run; A's
    /// person is onboarded meanwhile and another of A's offboarded (the cut) while B is down.
    /// B's steps fail, A's are done; once B is back (a fresh box here), running B's steps again
    /// finishes them. (Which steps Pulumi runs after a failure is the program's: --continue-on-error.)
    /// </summary>
    [Fact]
    public async Task One_box_powered_off_during_an_up_leaves_the_other_boxs_people_onboarded_and_offboarded()
    {
        await A.MustAsync(Mpc.Apply(tokenStdin: false), timeout: Bounded);
        try
        {
            var onB = B.RunAsync(Mpb.Apply(tokenStdin: false), timeout: Bounded);
            var onA = A.RunAsync(Mpa.Apply(tokenStdin: false), timeout: Bounded);
            await Task.Delay(TimeSpan.FromSeconds(3));
            var off = await fleet.PowerOffBAsync();
            Assert.True(off.ExitCode == 0, off.ToString());
            var bRun = await onB;
            Assert.True(bRun.ExitCode != 0, $"B's steps ran to the end although B was powered off 3 s in:\n{bRun}");
            var aRun = await onA;
            Assert.True(aRun.ExitCode == 0, aRun.ToString());
            await A.MustAsync(Mpc.Suspend(), timeout: Bounded);
            Assert.NotEqual(0, (await B.RunAsync("true", timeout: TimeSpan.FromSeconds(30))).ExitCode);

            var a = OnboardingTests.Facts(await A.ScriptAsync("""
                echo "mpa=$(systemctl is-active t3-serve@mpa.service) $(getent shadow mpa | cut -d: -f8)"
                echo "mpc=$(systemctl is-active t3-serve@mpc.service) $(getent shadow mpc | cut -d: -f8) $(ps -U mpc -o pid= | wc -l)"
                """));
            FactAssert.Equal(a,
                ("mpa", "active "),
                ("mpc", "inactive 1 0"));
        }
        finally
        {
            await fleet.ReviveBAsync();
        }
        // Afterwards: B's steps again, on the box that is back, finish its person.
        await B.MustAsync(Mpb.Apply(tokenStdin: false), timeout: Bounded);
        Assert.Equal("active", (await B.ScriptAsync("systemctl is-active t3-serve@mpb.service")).Trim());
    }

    /// <summary>
    /// Attack: root reads the whole home for the final snapshot, and the person shaped it. As
    /// mvd: a 64G sparse file. With the bound at 5 s (WS_MOVE_TIMEOUT) the move-out fails within
    /// seconds, saying so, and mvd stays cut on A with the home as it was.
    /// </summary>
    [Fact]
    public async Task A_persons_sparse_file_cannot_hold_a_move_out_past_its_time_bound()
    {
        await A.MustAsync(Mvd.Apply(tokenStdin: false), timeout: Bounded);
        await A.MustAsync("runuser -u mvd -- sh -ec 'cd ~; truncate -s 64G big; echo kept > small.txt'");
        // The repository exists already, so the 5 s go to reading the home.
        await A.MustAsync("RESTIC_PASSWORD_FILE=/dev/stdin restic --quiet --no-cache init --repo /srv/move-repo-sparse >/dev/null", stdin: Password + "\n");
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var run = await A.RunAsync("WS_MOVE_TIMEOUT=5 " + MoveOut(Mvd.Name, "/srv/move-repo-sparse"), stdin: Password + "\n",
                timeout: TimeSpan.FromSeconds(60));
            Assert.True(run.ExitCode == 1, run.ToString());
            Assert.Contains("took over 5s", run.Stderr, StringComparison.Ordinal);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(45), $"the move-out took {clock.Elapsed}");
            var f = await AccountAsync(A, Mvd.Name);
            Assert.Equal(("1", "yes", "yes"), (f["expire"], f["suspended"], f["home"]));
            Assert.Equal("kept 68719476736", (await A.ScriptAsync("cat /home/mvd/small.txt; stat -c %s /home/mvd/big")).Replace("\n", " ", StringComparison.Ordinal).Trim());
            Assert.Equal("absent", (await A.ScriptAsync("test -e /etc/workstation/moved/mvd && echo present || echo absent")).Trim());
        }
        finally
        {
            await A.RunAsync("rm -f /home/mvd/big");
        }
    }

    [Fact]
    public async Task A_move_in_refuses_a_uid_someone_else_holds_and_the_admin_is_never_moved()
    {
        await B.MustAsync("useradd -M -u 2762 mv-squatter");
        var taken = await B.RunAsync(MoveIn(Mvc.Name, 2762, "0123abcd", FleetFixture.RepoFromB), stdin: Password + "\n", timeout: Bounded);
        Assert.True(taken.ExitCode == 3, taken.ToString());
        Assert.Contains("uid 2762 is already used by mv-squatter", taken.Stderr, StringComparison.Ordinal);
        Assert.Equal("none", (await B.ScriptAsync("getent passwd mvc >/dev/null && echo some || echo none")).Trim());

        var admin = await A.RunAsync(MoveOut(HostWorld.Admin, FleetFixture.RepoPath), stdin: Password + "\n", timeout: Bounded);
        Assert.True(admin.ExitCode == 3, admin.ToString());
        Assert.Contains("is the admin", admin.Stderr, StringComparison.Ordinal);
        var noPassword = await A.RunAsync(MoveOut(Mvc.Name, FleetFixture.RepoPath).Replace(" --password-stdin", "", StringComparison.Ordinal));
        Assert.True(noPassword.ExitCode == 2, noPassword.ToString());
    }
}


namespace Host.Tests;

/// <summary>
/// A roster user as the host tests onboard them (distinct names, uids and ports per test). Every
/// command line comes from HostCommands, built from the DerivedUser the roster engine would
/// derive for this entry: the strings the Pulumi program sends.
/// </summary>
/// <param name="Groups">Tier groups other than the tier's own (a test of what the host does with them); null: the tier's.</param>
/// <param name="Budget">Over the tier's built-in budget; null: the tier's.</param>
public sealed record TestUser(string Name, int? Uid, int T3Port, int PlaywrightPort, string Tier = "power-user", string[]? Groups = null, Budget? Budget = null)
{
    /// <summary>A person the test refers to by name only (ports and uid play no part).</summary>
    public static TestUser Named(string name) => new(name, null, 4999, 5999);

    /// <summary>
    /// A person numbered as the host tests number theirs: the playwright port 100 above the t3
    /// port (uid 2501: ports 4501 and 4601). A person whose ports say something else spells both.
    /// </summary>
    public static TestUser Numbered(string name, int uid, int t3Port) => new(name, uid, t3Port, t3Port + 100);

    /// <summary>The chrome-service snapshot token the test seeds (a fake secret: searched for afterwards).</summary>
    public string Token => $"snap-{Name}-T0k3n-7f3a9c";

    public string Home => $"/home/{Name}";

    /// <summary>The secrets step's stdin: the snapshot token, as the one secret of the bundle.</summary>
    public string TokenStdin => $"{{\"snapshot-token\":\"{Token}\"}}";

    /// <summary>The secrets step that stages the snapshot token alone (what <see cref="Apply"/> runs last).</summary>
    public string Secrets() => HostCommands.Secrets(Derived(), [SharedSecret.SnapshotToken], new Dictionary<SharedSecret, int>(), null);

    /// <summary>The roster entry, derived as the program derives it.</summary>
    public DerivedUser Derived(string? tier = null, IReadOnlyList<string>? groups = null, bool adopt = false,
        IReadOnlyList<string>? revokeGroups = null, bool privateHome = false, int? uid = null, KubeAuth kubeAuth = KubeAuth.Oidc)
    {
        var t = TierNames.Parse(tier ?? Tier) ?? throw new ArgumentException($"no tier {tier ?? Tier}");
        var person = new Person(Name, Name + ".a", Name, null, t, [], new Dictionary<string, string>(),
            new Ports(T3Port, PlaywrightPort), uid ?? Uid, adopt, revokeGroups ?? [], privateHome,
            Budget is { } b ? new BudgetOverride(b.MemoryHigh, b.MemoryMax, b.CpuWeight, b.TasksMax) : null, KubeAuth: kubeAuth);
        var derived = Derivation.Derive(person, RosterSettings.Default);
        return (groups ?? Groups) is { } g ? derived with { TierGroups = g } : derived;
    }

    /// <summary>What `pulumi up` runs to create or update this person: the host steps (with tokenStdin, the secrets step too).</summary>
    public HostSteps Apply(bool tokenStdin = true, bool adopt = false, IReadOnlyList<string>? groups = null,
        IReadOnlyList<string>? revokeGroups = null, bool privateHome = false, string? tier = null, int? uid = null) =>
        HostSteps.Of(Derived(tier, groups, adopt, revokeGroups, privateHome, uid), tokenStdin);

    /// <summary>What bringing a retired person back runs: the three steps again (the account step resumes the account).</summary>
    public HostSteps Resume(int? uid = null) => HostSteps.Of(Derived(uid: uid), tokenStdin: false);

    /// <summary>The account step alone (a tier or group change reaches only it).</summary>
    public string Account(string? tier = null, IReadOnlyList<string>? groups = null, int? uid = null, bool adopt = false) =>
        HostCommands.Account(Derived(tier, groups, adopt, uid: uid));

    /// <summary>The account step's delete, the reversible cut (what retiring or removing this person runs last).</summary>
    public string Suspend() => HostCommands.Suspend(Derived()) ?? HostCommands.Manual.ForceSuspend(Name);

    /// <summary>The services step's delete.</summary>
    public string StopServices() => HostCommands.StopServices(Derived()) ?? throw new InvalidOperationException("the admin's services have no delete");

    /// <summary>The purge step of this person's tombstone with `purge: true`.</summary>
    public string Purge(string archiveDir = PurgeArchiveDir) =>
        HostCommands.Purge(new RetiredUser(Name, Uid, new Ports(T3Port, PlaywrightPort), Purge: true), archiveDir);

    public string Restore(string archive) => HostCommands.Manual.Restore(Name, archive);

    /// <summary>The stack's default purge archive folder.</summary>
    public const string PurgeArchiveDir = "/var/backups/workstation/homes";

    public string Status() => HostCommands.Manual.Status(Name);

    public string FirewallCheck() => HostCommands.Manual.FirewallCheck(Name);
}

/// <summary>
/// One person's host steps as the program runs them: HostCommands' strings, one SSH session each,
/// account first; only the secrets step reads stdin (here: the snapshot token alone). Secrets is
/// null for a run without it (the stack stages no secret, or the test leaves it out).
/// </summary>
public sealed record HostSteps(string Account, string Code, string Services, string? Secrets = null)
{
    public static HostSteps Of(DerivedUser u, bool tokenStdin) =>
        new(HostCommands.Account(u), HostCommands.Code(u), HostCommands.Services(u),
            tokenStdin ? HostCommands.Secrets(u, [SharedSecret.SnapshotToken], new Dictionary<SharedSecret, int>(), null) : null);

    /// <summary>The steps as one shell line, stdin piped to the secrets step (for a test that kills a run midway).</summary>
    public string Script(string? stdin) =>
        $"{Account} </dev/null && {Code} </dev/null && {Services} </dev/null" +
        (Secrets is null ? "" : stdin is null ? $" && {Secrets} </dev/null" : $" && printf '%s' {HostCommands.Quote(stdin)} | {Secrets}");
}

/// <summary>
/// The box every host test of a collection shares: the current host/ tree installed, a git-crypt
/// fixture repository, the site config. Set up once per box (the tests of a collection run one
/// at a time; each collection has a box of its own); each test calls <see cref="ReadyAsync"/> first.
/// </summary>
public static class HostWorld
{
    public const string FixtureRepo = "/srv/fixture/repo.git";
    public const string FixtureRepoUrl = "file://" + FixtureRepo;
    public const string BigRepo = "/srv/fixture/big.git";
    public const string BigRepoUrl = "file://" + BigRepo;
    public const string SecretPlaintext = "top secret: the fixture's git-crypt payload\n";

    /// <summary>The site config every test runs under unless it says otherwise.</summary>
    /// <summary>The admin the site step names in every host test (the golden roster's): `user suspend` refuses them.</summary>
    public const string Admin = "wiz";

    public static string SiteCommand(string repoUrl = FixtureRepoUrl, string t3Command = "/usr/bin/sleep infinity",
        string? edgeUser = null, IReadOnlyList<string>? privilegedGroups = null, string admin = Admin, string? snapshotUrl = null,
        OidcGrantType grantType = Kubelogin.DefaultGrantType, K8sUsernameClaim usernameClaim = K8sUsernameClaim.Email) => HostCommands.Site(
        new SiteSettings(
            repoUrl,
            "https://auth.example.test/application/o/kubernetes/",
            "kubernetes",
            "fixture",
            "https://k8s.example.test:6443",
            "https://vault.example.test",
            t3Command,
            edgeUser,
            snapshotUrl,
            OidcGrantType: grantType),
        RosterSettings.Default with { PrivilegedGroups = privilegedGroups ?? [], K8sUsernameClaim = usernameClaim },
        admin);

    /// <summary>
    /// A script that opens a terminal of USER's, as an SSH or t3 session holds one (a pty they
    /// own, in a unit named UNIT), and marks it typed in just now: what the idle gate reads.
    /// </summary>
    public static string OpenTypedTerminal(string user, string unit) => $$"""
        systemd-run --quiet --unit {{unit}} -p User={{user}} python3 -c 'import os, time; m, s = os.openpty(); time.sleep(600)'
        for _ in $(seq 1 40); do
          for p in /dev/pts/[0-9]*; do [ "$(stat -c %U "$p")" = {{user}} ] && { touch -a "$p"; echo "$p"; exit 0; }; done
          sleep 0.25
        done
        exit 1
        """;

    /// <summary>A script giving USER an SSH key of root's (/root/USER_key) to log in with, as a person would.</summary>
    public static string AuthorizeLoginKey(string user) => $$"""
        set -euo pipefail
        rm -f /root/{{user}}_key /root/{{user}}_key.pub
        ssh-keygen -q -t ed25519 -N '' -f /root/{{user}}_key
        runuser -u {{user}} -- sh -ec 'mkdir -p -m 700 /home/{{user}}/.ssh; cat > /home/{{user}}/.ssh/authorized_keys' < /root/{{user}}_key.pub
        """;

    /// <summary>
    /// The base step as the program sends it: the hash of the base inputs of the host/ tree the
    /// tests install (<see cref="HostBundle"/>'s), so the host checks it installed that tree.
    /// The sandbox has no route to the pinned tools' upstream: the base step runs without them
    /// (the sandbox stack's pinnedTools: false); ToolsTests installs stand-ins with `tools install`.
    /// </summary>
    public static string BaseCommand(string repoRoot, string? swapSize = null, int? swappiness = null, bool ownLauncher = true,
        (string Url, string Ref)? configBase = null, bool claudeCodeIfMissing = false, IEnumerable<string>? takeOver = null, bool configBaseHooks = false,
        string? nodeExporter = null)
    {
        return HostCommands.Base(BaseInputsSha256(HostTreeParent(repoRoot)), new BaseSettings
        {
            SwapSize = swapSize, Swappiness = swappiness, PinnedTools = false, OwnLauncher = ownLauncher,
            ConfigBase = configBase is { } c ? new ConfigBaseSource(c.Url, c.Ref, configBaseHooks) : null,
            ClaudeCodeIfMissing = claudeCodeIfMissing, NodeExporter = nodeExporter,
            TakeOver = [.. (takeOver ?? []).Select(p => new SharedFiles.BaseTarget(p))],
        });
    }

    /// <summary>The hash of the base inputs of PARENT/host, as the program computes it from the bundle it sends.</summary>
    public static string BaseInputsSha256(string hostDirParent)
    {
        var host = Path.Combine(hostDirParent, "host");
        return HostCommands.BaseInputsSha256(Directory.EnumerateFiles(host, "*", SearchOption.AllDirectories)
            .Select(f => (Path.GetRelativePath(host, f).Replace('\\', '/'), File.ReadAllBytes(f))));
    }

    /// <summary>The folder whose host/ the tests install: the repository, or WORKSTATION_TEST_HOST_TREE.</summary>
    public static string HostTreeParent(string repoRoot, string? hostDirParent = null) =>
        hostDirParent ?? (Environment.GetEnvironmentVariable("WORKSTATION_TEST_HOST_TREE") is { Length: > 0 } other ? other : repoRoot);

    /// <summary>Creates the fixture repository: git-crypt-encrypted secret.txt plus a plaintext README.</summary>
    public const string MakeFixtureRepo = """
        set -euo pipefail
        if [ ! -d /srv/fixture/repo.git ]; then
          rm -rf /srv/fixture/work /srv/fixture/repo.git.tmp
          mkdir -p /srv/fixture/work
          cd /srv/fixture/work
          git init -q -b main
          git-crypt init >/dev/null 2>&1
          printf 'secret.txt filter=git-crypt diff=git-crypt\n' > .gitattributes
          printf 'top secret: the fixture'"'"'s git-crypt payload\n' > secret.txt
          printf '# Fixture\n\nPlaintext docs.\n' > README.md
          git add -A
          git -c user.name=fixture -c user.email=fixture@example.test commit -qm 'fixture: secret + readme'
          git clone -q --bare /srv/fixture/work /srv/fixture/repo.git.tmp
          mv /srv/fixture/repo.git.tmp /srv/fixture/repo.git
          chmod -R a+rX /srv/fixture/repo.git
        fi
        # A local repository owned by root: git's ownership check needs it trusted system-wide.
        git config --system --get-all safe.directory | grep -qx /srv/fixture/repo.git ||
          git config --system --add safe.directory /srv/fixture/repo.git
        """;

    /// <summary>A repository big enough (random, incompressible) that a clone takes a while.</summary>
    public const string MakeBigRepo = """
        set -euo pipefail
        if [ ! -d /srv/fixture/big.git ]; then
          rm -rf /srv/fixture/bigwork /srv/fixture/big.git.tmp
          mkdir -p /srv/fixture/bigwork
          cd /srv/fixture/bigwork
          git init -q -b main
          head -c 32M /dev/urandom > blob.bin
          printf '# Big\n' > README.md
          git add -A
          git -c user.name=fixture -c user.email=fixture@example.test -c core.compression=0 commit -qm big
          git clone -q --bare /srv/fixture/bigwork /srv/fixture/big.git.tmp
          mv /srv/fixture/big.git.tmp /srv/fixture/big.git
          cd /
          rm -rf /srv/fixture/bigwork
          chmod -R a+rX /srv/fixture/big.git
        fi
        git config --system --get-all safe.directory | grep -qx /srv/fixture/big.git ||
          git config --system --add safe.directory /srv/fixture/big.git
        """;

    public static async Task ReadyAsync(SandboxFixture box)
    {
        await box.ReadyGate.WaitAsync();
        try
        {
            if (!box.Ready)
            {
                await box.MustAsync(HostCommands.Install, stdin: HostBundle(box.RepoRoot));
                // The base first: /etc/skel must not change between two users' onboardings.
                await box.MustAsync(BaseCommand(box.RepoRoot), timeout: TimeSpan.FromMinutes(10));
                await box.MustAsync("bash -s", stdin: MakeFixtureRepo);
                box.Ready = true;
            }
        }
        finally
        {
            box.ReadyGate.Release();
        }
        await box.MustAsync(SiteCommand());
    }

    /// <summary>The box was replaced by a fresh one: the next <see cref="ReadyAsync"/> sets it up again.</summary>
    public static async Task ResetAsync(SandboxFixture box)
    {
        await box.ReadyGate.WaitAsync();
        box.Ready = false;
        box.ReadyGate.Release();
    }

    /// <summary>
    /// host/ as a base64 tar.gz, the way the installer receives it on stdin. WORKSTATION_TEST_HOST_TREE
    /// names another folder whose host/ to install instead (e.g. a checkout of an earlier commit, to
    /// watch a test fail against the host layer before a fix).
    /// </summary>
    public static string HostBundle(string repoRoot, string? hostDirParent = null)
    {
        hostDirParent = HostTreeParent(repoRoot, hostDirParent);
        var psi = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("set -o pipefail; tar -C \"$1\" --owner=0 --group=0 -czf - host | base64 -w0");
        psi.ArgumentList.Add("bash");
        psi.ArgumentList.Add(hostDirParent);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"tar host/ failed: {stderr}");
        return stdout.Result;
    }

    /// <summary>
    /// Everything an apply could change, byte for byte: the account databases, every file
    /// under /home, /etc/workstation and the maps (type, mode, owner, size, mtime, link
    /// target, sha256), the unit files and enablement symlinks, and each user unit's
    /// state and main PID (a restart changes it).
    /// </summary>
    public const string Snapshot = """
        set -euo pipefail
        sha256sum /etc/passwd /etc/group /etc/shadow /etc/gshadow
        find /home /etc/workstation /etc/systemd/system /usr/local/lib/workstation /etc/ttyd-user-map /etc/t3-serve \
          -printf '%p|%y|%m|%u|%g|%s|%T@|%l\n' 2>/dev/null | sort || true
        find /home /etc/workstation -type f -print0 | sort -z | xargs -0 -r sha256sum
        for u in $(ls /home); do
          for unit in "playwright-mcp@$u.service" "t3-serve@$u.service" "playwright-snapshot-refresh@$u.timer"; do
            echo "$unit $(systemctl is-enabled "$unit" 2>/dev/null || true) $(systemctl show -p ActiveState -p MainPID -p ActiveEnterTimestampMonotonic "$unit" | sort | paste -sd' ')"
          done
        done
        """;

    /// <summary>
    /// One user's workstation with everything that must differ between two users
    /// normalised away (name, uid, ports; the clone's index and reflogs and Claude's own
    /// state files, which carry timestamps and random ids, are listed by size only):
    /// two users onboarded the same way give the same text.
    /// </summary>
    public static string NormalisedUserState(TestUser u) => $$"""
        set -euo pipefail
        u={{u.Name}}; t3={{u.T3Port}}; pw={{u.PlaywrightPort}}
        norm() { sed -e "s/\b$u\b/USER/g" -e "s/\b$t3\b/T3PORT/g" -e "s/\b$pw\b/PWPORT/g" -e 's/[0-9]\{10,\}/N/g'; }
        {
          echo "shell: $(getent passwd "$u" | cut -d: -f6,7)"
          echo "groups: $(id -nG "$u" | tr ' ' '\n' | sort | paste -sd,)"
          echo "passwd: $(passwd -S "$u" | cut -d' ' -f2)"
          echo "expiry: $(getent shadow "$u" | cut -d: -f8)"
          for f in /etc/workstation/playwright-$u.env /etc/workstation/t3-$u.env; do echo "$f: $(cat "$f")"; done
          for unit in "playwright-mcp@$u.service" "t3-serve@$u.service" "playwright-snapshot-refresh@$u.timer"; do
            echo "$unit $(systemctl is-enabled "$unit" 2>/dev/null || true) $(systemctl is-active "$unit" || true)"
          done
          cd "/home/$u"
          find . -printf '%P|%y|%m|%u|%g|%s\n' | sort
          find . -type f ! -path './code/.git/index' ! -path './code/.git/logs/*' ! -name '.claude.json' ! -path './.claude/*' \
            ! -path './.config/workstation/snapshot-token' ! -path './code/.git/HEAD' -print0 | sort -z | xargs -0 -r sha256sum
          # The clone's HEAD names the person's own branch (issue 24 §4): compared with the name normalised.
          [ ! -f code/.git/HEAD ] || echo "HEAD: $(cat code/.git/HEAD)"
          echo "token: $(cat .config/workstation/snapshot-token)"
          runuser -u "$u" -- env HOME="/home/$u" jq -c '.mcpServers.playwright' "/home/$u/.claude.json"
        } | norm
        """;
}

/// <summary>Assertion helpers over <see cref="SandboxFixture"/>.</summary>
public static class BoxExtensions
{
    /// <summary>
    /// Runs a person's host steps as Pulumi does, one SSH session each (stdin to the services
    /// step only); stops at the first that fails. The result joins their output, with the exit
    /// code of the last step run.
    /// </summary>
    public static async Task<SshResult> RunAsync(this SandboxFixture box, HostSteps steps, string? stdin = null, TimeSpan? timeout = null)
    {
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var exit = 0;
        foreach (var (command, input) in new[] { (steps.Account, null), (steps.Code, null), (steps.Services, null), (steps.Secrets, stdin) })
        {
            if (command is null) continue;
            var r = await box.RunAsync(command, input, timeout);
            stdout.Append(r.Stdout);
            stderr.Append(r.Stderr);
            exit = r.ExitCode;
            if (exit != 0) break;
        }
        return new SshResult(exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs a person's host steps (see above); every one must exit 0.</summary>
    public static async Task<SshResult> MustAsync(this SandboxFixture box, HostSteps steps, string? stdin = null, TimeSpan? timeout = null)
    {
        var r = await box.RunAsync(steps, stdin, timeout);
        Assert.True(r.ExitCode == 0, $"`{Short(steps.Script(null))}` failed:\n{r}");
        return r;
    }

    /// <summary>Runs a command that must exit 0; the failure message shows the command and its output.</summary>
    public static async Task<SshResult> MustAsync(this SandboxFixture box, string command, string? stdin = null, TimeSpan? timeout = null)
    {
        var r = await box.RunAsync(command, stdin, timeout);
        Assert.True(r.ExitCode == 0, $"`{Short(command)}` failed:\n{r}");
        return r;
    }

    /// <summary>
    /// The box ready (<see cref="HostWorld.ReadyAsync"/>), then <paramref name="u"/>'s host steps as
    /// `pulumi up` runs them: with <paramref name="token"/>, the secrets step stages their snapshot
    /// token (<see cref="TestUser.TokenStdin"/>); without, no secret is staged.
    /// </summary>
    public static async Task OnboardAsync(this SandboxFixture box, TestUser u, TimeSpan timeout, bool token = false)
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(u.Apply(tokenStdin: token), stdin: token ? u.TokenStdin : null, timeout: timeout);
    }

    /// <summary>Runs a bash script (sent on stdin) that must exit 0; returns its stdout.</summary>
    public static async Task<string> ScriptAsync(this SandboxFixture box, string script, TimeSpan? timeout = null) =>
        (await box.MustAsync("bash -s", stdin: script, timeout: timeout)).Stdout;

    /// <summary>
    /// Holds the box still for a before/after snapshot: stops the restart-pending timer, waits
    /// out a run already going, and does now the restarts earlier tests left pending (the shared
    /// box gathers every test's people, so a round of them outlasts a test). Disposing starts
    /// the timer again. Not around a services step: it starts the timer, and says so.
    /// </summary>
    public static async Task<IAsyncDisposable> QuietAsync(this SandboxFixture box)
    {
        await box.ScriptAsync(StopRestartPendingRounds(60));
        await box.MustAsync(HostCommands.Manual.RestartPending, timeout: TimeSpan.FromMinutes(3));
        return new TimerBack(box);
    }

    private sealed class TimerBack(SandboxFixture box) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await box.RunAsync("systemctl start workstation-restart-pending.timer");
    }

    /// <summary>
    /// For a test that fires the idle gate's restarts itself: stops the restart-pending timer, so
    /// its minute tick can't race the test. Disposing stops the test's own UNIT (a terminal or an
    /// agent of the person's, <see cref="OpenTypedTerminal"/>), starts the timer again, then runs THEN.
    /// </summary>
    public static async Task<IAsyncDisposable> GateByHandAsync(this SandboxFixture box, string unit, string? then = null)
    {
        await box.ScriptAsync("systemctl stop workstation-restart-pending.timer");
        return new GateBack(box, unit, then);
    }

    /// <summary>
    /// Inside <see cref="GateByHandAsync"/>, after a services step: the step starts the
    /// restart-pending timer again (keeping it running is its job), and a started timer whose
    /// last round is over a minute old fires at once. Stop it again and let a round it began
    /// end (bounded), so only the test's own `restart pending` runs restart anything.
    /// </summary>
    public static Task<string> HoldTimerAgainAsync(this SandboxFixture box) => box.ScriptAsync(StopRestartPendingRounds(20));

    /// <summary>
    /// A script: stops the restart-pending timer, then waits (at most SECONDS) for a round it
    /// began to end. The service is a oneshot, "activating" while its round runs, which
    /// `systemctl is-active` does not count: a wait on is-active returned at once, and the
    /// timer's round then ran beside the test's own steps.
    /// </summary>
    public static string StopRestartPendingRounds(int seconds) => $$"""
        systemctl stop workstation-restart-pending.timer
        for _ in $(seq 1 {{seconds * 4}}); do
          case "$(systemctl show -p ActiveState --value workstation-restart-pending.service)" in
            activating | active | deactivating | reloading) sleep 0.25 ;;
            *) exit 0 ;;
          esac
        done
        echo "workstation-restart-pending.service still running after {{seconds}} s" >&2; exit 1
        """;

    private sealed class GateBack(SandboxFixture box, string unit, string? then) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await box.RunAsync($"systemctl stop {unit} 2>/dev/null; systemctl reset-failed {unit} 2>/dev/null; systemctl start workstation-restart-pending.timer; true");
            if (then is not null) await box.MustAsync(then);
        }
    }

    /// <summary>Asserts two snapshots are identical; on a difference, shows it and the units' recent journal.</summary>
    public static async Task AssertSameAsync(this SandboxFixture box, string before, string after, string what)
    {
        if (before == after) return;
        var journal = await box.RunAsync(
            "journalctl --no-pager -o short-monotonic -n 60 -u 'playwright-mcp@*' -u 't3-serve@*' -u 'playwright-snapshot-refresh@*'");
        Assert.Fail($"{what}:\n{TextDiff.Describe(before, after)}\n--- journal ---\n{journal.Stdout}");
    }

    /// <summary>The lines of an apply's output that report a change.</summary>
    public static string[] Changes(this SshResult r) =>
        r.Stdout.Split('\n').Where(l => l.Contains("changed:", StringComparison.Ordinal)).ToArray();

    public static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Short(string command) => command.Length > 300 ? command[..300] + "…" : command;
}

/// <summary>Builds multi-line diagnostics for failed comparisons.</summary>
public static class TextDiff
{
    /// <summary>The lines only in one of the two texts, for a readable failure message.</summary>
    public static string Describe(string before, string after)
    {
        var a = before.Split('\n');
        var b = after.Split('\n');
        var sb = new StringBuilder();
        foreach (var l in a.Except(b)) sb.Append("- ").AppendLine(l);
        foreach (var l in b.Except(a)) sb.Append("+ ").AppendLine(l);
        return sb.ToString();
    }
}

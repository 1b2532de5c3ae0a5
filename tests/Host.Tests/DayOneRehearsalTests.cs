
namespace Host.Tests;

/// <summary>
/// Issue 24, acceptance: the day-one rehearsal. A box built like the seed's devvm (the roster's
/// people with hand-made accounts, a hand-made t3-serve@ template serving them, hand-written maps,
/// the hourly legacy reconcile, a Claude Code at a version that is not the pin), then the runbook
/// (docs/adopting-a-live-devvm.md) and the program's command lines with the committed stack's own
/// values: Pulumi.devvm.yaml (over Pulumi.yaml's defaults) and roster.yaml. After every step it
/// checks that the dispatcher routes everyone, admin first; that no person's process was killed or
/// throttled; that Claude Code's version is unchanged; and that the admin is untouched. At the end,
/// the drift report is green. Every check runs at every step and the failures are reported together.
/// </summary>
/// <remarks>
/// Where the devvm stack leaves a key to its owner (`TODO(owner)`), the rehearsal supplies what
/// the runbook or `adopt plan` yields on this box: repoUrl the admin's clone's origin, the OIDC and
/// cluster values a working kubeconfig holds, takeOver the hand-made template (runbook, before §1),
/// edgeUser the account `adopt plan` names as the dispatcher's (none today: see the report).
/// Two stack values the sandbox can't honour: swapSize (a container may not swapon; SwapTests fake
/// it), so the base step here manages no swap, and pinnedTools (no route to upstream).
/// </remarks>
[Collection(ReplacedBoxCollection.Name)]
public sealed class DayOneRehearsalTests(SandboxFixture box) : BoxTests(TimeSpan.FromMinutes(3))
{
    private const string Template = "/etc/systemd/system/t3-serve@.service";
    private const string Edge = "t3-edge";
    private const string ClaudePackage = "/usr/local/lib/node_modules/@anthropic-ai/claude-code/package.json";
    private const string LiveClaude = "2.0.0-live";

    /// <summary>The devvm stack's value of a key: Pulumi.devvm.yaml, else Pulumi.yaml's default (null: a TODO key).</summary>
    private static Func<string, string?> DevvmStack(string repoRoot)
    {
        var (config, why) = StackFile.Read(Path.Combine(repoRoot, "Pulumi.devvm.yaml"));
        Assert.True(config is not null, why);
        return key => config.TryGetValue($"{StackFile.Project}:{key}", out var v) ? v : ProjectConfig.DefaultOf(key);
    }

    /// <summary>The devvm's roster (the stack's `roster:`), derived as the program derives it.</summary>
    private static DerivedRoster DevvmRoster(string repoRoot, Func<string, string?> stack) =>
        Derivation.Derive(RosterLoader.LoadFile(Path.Combine(repoRoot, stack("roster")!)).ModelOrThrow());

    /// <summary>The seed's devvm as the older scripts left it, for the roster's people (admin first).</summary>
    private static string SeedBox(IReadOnlyList<DerivedUser> people)
    {
        var admin = people[0];
        var lines = new List<string>
        {
            "set -euo pipefail",
            "for g in docker code-shared; do getent group \"$g\" >/dev/null || groupadd \"$g\"; done",
            $"useradd -m -s /bin/bash -G sudo,docker,code-shared {admin.OsUser}",
            "useradd -r -s /usr/sbin/nologin " + Edge,
            "mkdir -p /etc/t3-legacy /etc/t3-serve",
        };
        foreach (var u in people.Skip(1)) lines.Add($"useradd -m -s /bin/bash {u.OsUser}");
        foreach (var u in people) lines.Add($"echo T3_PORT={u.Ports.T3} >/etc/t3-legacy/{u.OsUser}.env");
        lines.Add($$"""
            # t3 as installed by hand (the stand-in answers "t3 of USER"), and the admin's own setup.
            cat >/usr/local/bin/t3 <<'T3'
            #!/bin/sh
            # t3 serve --host HOST --port PORT
            exec /usr/bin/node -e 'require("http").createServer((q, r) => r.end("t3 of " + require("os").userInfo().username)).listen(+process.argv[2], process.argv[1])' "$3" "$5"
            T3
            chmod 0755 /usr/local/bin/t3
            runuser -u {{admin.OsUser}} -- sh -ec 'cd ~ && git clone -q {{HostWorld.FixtureRepoUrl}} code && mkdir -p .kube .zshrc.d &&
              printf "apiVersion: v1\nkind: Config\n" > .kube/config &&
              echo "{ \"mcpServers\": { \"playwright\": { \"type\": \"http\", \"url\": \"http://127.0.0.1:{{admin.Ports.Playwright}}/mcp\" } } }" > .claude.json &&
              echo "notes of the admin" > notes.txt'
            {{AdoptedUpTests.LegacyTemplate}}
            systemctl daemon-reload
            """);
        lines.Add("systemctl enable --now --quiet " + string.Join(' ', people.Select(u => $"t3-serve@{u.OsUser}.service")));
        lines.Add("printf '%s\\n' " + HostCommands.Quote("{" + string.Join(", ", people.Select(u => $"\"{u.AuthentikUser}\": {{\"os_user\": \"{u.OsUser}\", \"port\": {u.Ports.T3}}}")) + "}") + " >/etc/t3-serve/dispatch.json");
        lines.Add("printf '%s\\n' " + string.Join(' ', people.Select(u => HostCommands.Quote($"{u.AuthentikUser} {u.Ports.T3}"))) + " >/etc/ttyd-user-map");
        lines.Add("echo '17 * * * * root /usr/local/sbin/t3-provision-users.sh' >/etc/cron.d/t3-provision");
        // Claude Code at the live machine's version, not the pin.
        lines.Add($"jq '.version = \"{LiveClaude}\"' {ClaudePackage} > /root/claude-package.json && mv /root/claude-package.json {ClaudePackage}");
        // A long-running process per person, in their login slice: it must survive every step, unthrottled.
        foreach (var u in people)
            lines.Add($"systemd-run --quiet --unit=rehearsal-{u.OsUser} --uid={u.OsUser} --slice=user-$(id -u {u.OsUser}).slice sleep infinity");
        // A session in use: the dispatcher holds a connection to each person's t3 (what an agent's turn does).
        // t3 was just started: wait (bounded) until it listens, then until each connection is established.
        foreach (var u in people)
        {
            var hex = u.Ports.T3.ToString("X4", System.Globalization.CultureInfo.InvariantCulture);
            lines.Add($"for _ in $(seq 1 50); do awk 'FNR > 1 && $4 == \"0A\" && $2 ~ /:{hex}$/' /proc/net/tcp /proc/net/tcp6 | grep -q . && break; sleep 0.2; done");
            lines.Add($"systemd-run --quiet --unit=rehearsal-conn-{u.OsUser} --uid={Edge} python3 -c 'import socket, time; s = socket.create_connection((\"127.0.0.1\", {u.Ports.T3})); time.sleep(3600)'");
            lines.Add($"for _ in $(seq 1 50); do awk 'FNR > 1 && $4 == \"01\" && $3 ~ /:{hex}$/' /proc/net/tcp /proc/net/tcp6 | grep -q . && break; sleep 0.2; done");
            lines.Add($"awk 'FNR > 1 && $4 == \"01\" && $3 ~ /:{hex}$/' /proc/net/tcp /proc/net/tcp6 | grep -q . || {{ echo 'the dispatcher holds no connection to {u.Ports.T3}' >&2; exit 1; }}");
        }
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>What the dispatcher would serve each person, admin first: their dispatch.json port, reached as the edge account (3 s each at most).</summary>
    private static string Route(IReadOnlyList<DerivedUser> people) => """
        route() {
          local port body end=$((SECONDS + 3))
          port=$(jq -r --arg u "$1" '.[$u].port // empty' /etc/t3-serve/dispatch.json)
          [ -n "$port" ] || { echo "route $1: no route"; return 0; }
          while :; do
            body=$(runuser -u t3-edge -- curl -sS -m 1 "http://127.0.0.1:$port/" 2>/dev/null) && break
            [ "$SECONDS" -lt "$end" ] || break
            sleep 0.2
          done
          echo "route $1: ${body:-nothing answers on $port}"
        }
        """ + "\n" + string.Concat(people.Select(u => $"route {HostCommands.Quote(u.AuthentikUser)}\n"));

    /// <summary>
    /// Per person: the long-running process and each t3 instance's main pid (with start time), and
    /// the login and services slices' memory.events (high, max, oom_kill); the installed Claude Code.
    /// </summary>
    private static string Processes(IReadOnlyList<DerivedUser> people) =>
        string.Concat(people.Select(u => $$"""
            uid=$(id -u {{u.OsUser}})
            for unit in rehearsal-{{u.OsUser}}.service t3-serve@{{u.OsUser}}.service; do
              pid=$(systemctl show -p MainPID --value "$unit")
              echo "{{u.OsUser}} $unit pid=$pid start=$(ps -o lstart= -p "$pid" 2>/dev/null | tr -s ' ') user=$(ps -o user= -p "$pid" 2>/dev/null)"
            done
            for s in user.slice/user-$uid.slice workstation.slice/workstation-{{u.OsUser}}.slice; do
              f=/sys/fs/cgroup/$s/memory.events
              [ -f "$f" ] && echo "{{u.OsUser}} $s $(grep -E '^(high|max|oom_kill) ' "$f" | tr '\n' ' ')"
            done

            """)) + $"echo \"claude $(claude --version 2>&1 | head -n 1) package $(jq -r .version {ClaudePackage})\"\n";

    /// <summary>
    /// The admin: groups (but the marker group, which is what `adopt: true` adds), every home
    /// file's hash, mode and owner, and their units' state. A file Workstation adds where there
    /// was none (vault.sh, its state, a backup) is listed apart: only what was there is compared.
    /// </summary>
    private static string AdminFacts(DerivedUser admin) => $$"""
        set -euo pipefail
        echo "groups $(id -nG {{admin.OsUser}} | tr ' ' '\n' | grep -vx {{Rules.MarkerGroup}} | LC_ALL=C sort | tr '\n' ' ')"
        cd {{admin.Home}} && find . -path ./code/.git -prune -o -type f -printf '%p %m %U\n' | LC_ALL=C sort | while read -r f m o; do echo "file $f $m $o $(sha256sum < "$f" | cut -c1-16)"; done
        systemctl list-units --all --plain --no-legend 'rehearsal-{{admin.OsUser}}*' 't3-serve@{{admin.OsUser}}*' | awk '{print "unit", $1, $3, $4}'
        """;

    [Fact]
    public async Task Day_one_with_the_devvm_stacks_own_values_keeps_everyone_routed_running_and_unchanged_and_drift_green()
    {
        var clock = Stopwatch.StartNew();
        var stack = DevvmStack(box.RepoRoot);
        var roster = DevvmRoster(box.RepoRoot, stack);
        var admin = roster.Users.Single(u => u.IsAdmin);
        IReadOnlyList<DerivedUser> people = [admin, .. roster.Users.Where(u => !u.IsAdmin)]; // admin first, as `up` orders them
        var problems = new List<string>();

        var fresh = await box.SandboxAsync("up");
        Assert.True(fresh.ExitCode == 0, fresh.ToString());
        try
        {
            await box.ScriptAsync(HostWorld.MakeFixtureRepo, Bounded);
            await box.ScriptAsync(SeedBox(people), Bounded);
            var routes = await box.ScriptAsync(Route(people), Bounded);
            var processes = await box.ScriptAsync(Processes(people), Bounded);
            var adminFacts = await box.ScriptAsync(AdminFacts(admin), Bounded);
            Assert.Contains($"package {LiveClaude}", processes, StringComparison.Ordinal);
            foreach (var u in people) Assert.Contains($"route {u.AuthentikUser}: legacy t3 of {u.OsUser}", routes, StringComparison.Ordinal);

            var added = new SortedSet<string>(StringComparer.Ordinal);
            var timings = new List<string>();
            var lap = Stopwatch.StartNew();
            async Task CheckAsync(string when)
            {
                timings.Add($"{when} {lap.Elapsed.TotalSeconds:F0}s");
                lap.Restart();
                var all = await box.ScriptAsync(Route(people) + "echo ---\n" + Processes(people) + "echo ---\n" + AdminFacts(admin), Bounded);
                var parts = all.Split("---\n");
                var r = parts[0].Trim().Split('\n');
                for (var i = 0; i < people.Count; i++)
                {
                    var u = people[i];
                    if (i >= r.Length || !System.Text.RegularExpressions.Regex.IsMatch(r[i], $"^route {System.Text.RegularExpressions.Regex.Escape(u.AuthentikUser)}: (legacy )?t3 of {u.OsUser}$"))
                        problems.Add($"{when}: routing ({(i == 0 ? "the admin" : u.OsUser)}): {(i < r.Length ? r[i] : "no line")}");
                }
                // A line that changed: a process restarted or gone, a slice throttled or OOM-killed, Claude Code moved.
                // (A slice that did not exist before, the services slice, is new, not changed.)
                var now = parts[1].Split('\n');
                foreach (var line in processes.Split('\n').Where(l => l.Length > 0).Except(now))
                    problems.Add($"{when}: changed: {line}  ->  {now.FirstOrDefault(l => l.Split(' ').Take(2).SequenceEqual(line.Split(' ').Take(2))) ?? "gone"}");
                var a = parts[2].Split('\n');
                var before = adminFacts.Split('\n');
                foreach (var line in before.Except(a))
                    problems.Add($"{when}: the admin changed: {line}  ->  {a.FirstOrDefault(l => l.Split(' ').Take(2).SequenceEqual(line.Split(' ').Take(2))) ?? "gone"}");
                foreach (var line in a.Except(before).Where(l => before.All(b => !b.Split(' ').Take(2).SequenceEqual(l.Split(' ').Take(2)))))
                    added.Add(line);
            }

            var bundle = HostWorld.HostBundle(box.RepoRoot);
            // Install: the devvm stack's takeOver is empty, so the hand-made template is refused, with its diff.
            var takeOver = stack("takeOver") is { Length: > 2 } listed ? throw new InvalidOperationException($"takeOver is set in the stack: {listed}") : (string[])[];
            var refused = await box.RunAsync(HostCommands.InstallTakingOver(takeOver), stdin: bundle, timeout: Bounded);
            Assert.True(refused.ExitCode == 3, refused.ToString());
            await CheckAsync("a refused install");
            // The runbook: list it in takeOver.
            await box.MustAsync(HostCommands.InstallTakingOver([Template]), stdin: bundle, timeout: Bounded);
            await CheckAsync("the install");

            // 1. The plan; 2. the hand-over.
            var plan = await box.MustAsync(HostCommands.Manual.AdoptPlan(people), timeout: Bounded);
            foreach (var u in people)
            {
                Assert.Contains($"conflict: {u.OsUser}: the account exists and Workstation does not manage it", plan.Stdout, StringComparison.Ordinal);
                Assert.Contains($"pin: {u.OsUser}: uid: ", plan.Stdout, StringComparison.Ordinal);
            }
            await box.MustAsync("rm /etc/cron.d/t3-provision");
            await box.MustAsync(HostCommands.Manual.AdoptRecord("/etc/t3-serve/dispatch.json"));
            await box.MustAsync(HostCommands.Manual.AdoptRecord("/etc/ttyd-user-map"));
            await CheckAsync("the hand-over");

            // 4. `pulumi up`, with the devvm stack's values.
            var baseCommand = HostCommands.Base(HostWorld.BaseInputsSha256(HostWorld.HostTreeParent(box.RepoRoot)), new BaseSettings
            {
                // No SwapSize: the stack's 8G, but the sandbox may not swapon (SwapTests fake it), so no swap step here.
                Swappiness = int.TryParse(stack("swappiness"), out var sw) ? sw : null,
                PinnedTools = false, // the stack's true: no route to upstream in the sandbox
                OwnLauncher = bool.Parse(stack("ownLauncher")!),
                ClaudeCodeIfMissing = stack("claudeCodePolicy") == "if-missing",
                T3Package = string.IsNullOrEmpty(stack("t3Package")) ? null : stack("t3Package"),
            });
            await box.MustAsync(baseCommand, timeout: Bounded);
            await CheckAsync("the base step");

            // edgeUser: the stack's, else the dispatcher's account as `adopt plan` names it (issue 24 §1).
            var edge = stack("edgeUser") is { Length: > 0 } e ? e
                : System.Text.RegularExpressions.Regex.Match(plan.Stdout, @"edgeUser:? (\S+)") is { Success: true } m ? m.Groups[1].Value : null;
            // `none` is the program's word for no edge account: it sends the host no --edge-user.
            if (edge == StackValues.NoEdgeUser) edge = null;
            if (edge is null) problems.Add("edgeUser: Pulumi.devvm.yaml leaves it unset and `adopt plan` names no dispatcher account (issue 24 §1)");
            var site = HostCommands.Site(new SiteSettings(
                    stack("repoUrl") ?? HostWorld.FixtureRepoUrl,                                    // runbook: the admin's clone's origin
                    stack("oidcIssuer") ?? "https://auth.example.test/application/o/kubernetes/", // runbook: from a working kubeconfig
                    stack("oidcClientId") ?? "kubernetes",
                    stack("clusterName") ?? "devvm-cluster",
                    stack("clusterServer") ?? "https://k8s.example.test:6443",
                    stack("vaultAddr")!,
                    stack("t3Command")!,
                    edge,
                    string.IsNullOrEmpty(stack("snapshotUrl")) ? null : stack("snapshotUrl"),
                    int.TryParse(stack("restartIdleMinutes"), out var idle) ? idle : null),
                roster.Settings, admin.OsUser);
            await box.MustAsync(site, timeout: Bounded);
            await CheckAsync("the site step");

            foreach (var u in people)
            {
                // What the program's person component runs, the admin first (Components/WorkstationUser.cs).
                await box.MustAsync(HostCommands.Account(u), timeout: Bounded);
                await CheckAsync($"{u.OsUser}'s account step");
                await box.MustAsync(HostCommands.Code(u), timeout: Bounded);
                await box.MustAsync(HostCommands.Services(u), timeout: Bounded);
                await CheckAsync($"{u.OsUser}'s services step");
                // The devvm stages only ha-url (vaultSecrets), and the roster gives nobody `ha`: an empty secrets step.
                await box.MustAsync(HostCommands.Secrets(u, [], new Dictionary<SharedSecret, int>(), null), timeout: Bounded);
            }
            await box.MustAsync(HostCommands.Maps(people), timeout: Bounded);
            await CheckAsync("the maps step");

            // The drift report (`workstation status --json` against the roster), once the services listen.
            var drift = new List<string>();
            var listen = Stopwatch.StartNew();
            while (true)
            {
                using var doc = JsonDocument.Parse((await box.MustAsync(HostCommands.Manual.StatusAll, timeout: Bounded)).Stdout);
                drift = Drift.Check(roster, doc.RootElement).Select(d => d.ToString()).ToList();
                if (drift.Count == 0 || listen.Elapsed > TimeSpan.FromSeconds(20)) break;
                await Task.Delay(500);
            }
            problems.AddRange(drift.Select(d => $"drift: {d}"));

            Assert.True(problems.Count == 0, $"{problems.Count} check(s) failed:\n" + string.Join('\n', problems) +
                $"\n(new in the admin's home, not compared: {string.Join("; ", added)})\n(time per step: {string.Join(", ", timings)}; in all {clock.Elapsed.TotalSeconds:F0}s)");
        }
        finally
        {
            // This box is spent: the next test of the collection starts from its own `up`.
            await HostWorld.ResetAsync(box);
            Console.Error.WriteLine($"DayOneRehearsal: {clock.Elapsed.TotalSeconds:F0}s");
        }
    }
}

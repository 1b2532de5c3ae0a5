
namespace Host.Tests;

/// <summary>
/// Issue 24 §1 on a seed-like box (<see cref="AdoptedUpTests.SeedBox"/>): the t3 dispatcher runs
/// as its own account and routes every Authentik user to their t3 port. `adopt plan` names that
/// account, and with the line it prints set (the devvm stack's own values otherwise), the first
/// services step keeps every person routed, the admin first.
/// </summary>
[Collection(ReplacedBoxCollection.Name)]
public sealed partial class EdgeAccountTests(SandboxFixture box) : BoxTests(TimeSpan.FromMinutes(3))
{
    private static readonly TestUser Wiz = new("wiz", 2000, 3773, 8931, Tier: "admin", Groups: ["sudo", "docker", "code-shared"]);
    private static readonly TestUser Emo = new("emo", 2001, 3774, 8932);
    private const string Dispatcher = "t3-dispatch";
    private const int DispatchPort = 8090;

    /// <summary>
    /// The dispatcher stand-in, as its own account: it reads dispatch.json per request and proxies
    /// to the person's port, and, like a pooled upstream, keeps one connection open to each.
    /// </summary>
    private static readonly string StartDispatcher = $$"""
        set -euo pipefail
        useradd -r -s /usr/sbin/nologin {{Dispatcher}}
        cat >/usr/local/lib/t3-dispatch.js <<'JS'
        const http = require("http"), net = require("net"), fs = require("fs");
        const map = process.argv[2];
        const agent = new http.Agent({ keepAlive: true });
        function hold(port) {
          const s = net.connect(port, "127.0.0.1");
          s.on("error", () => {});
          s.on("close", () => setTimeout(() => hold(port), 500));
        }
        for (const e of Object.values(JSON.parse(fs.readFileSync(map)))) hold(e.port);
        http.createServer((q, r) => {
          const e = JSON.parse(fs.readFileSync(map))[q.url.slice(1)];
          if (!e) { r.statusCode = 404; return r.end("no route"); }
          http.get({ host: "127.0.0.1", port: e.port, path: "/", agent }, u => u.pipe(r))
            .on("error", x => { r.statusCode = 502; r.end("nothing answers on " + e.port + ": " + x.code); });
        }).listen({{DispatchPort}}, "127.0.0.1");
        JS
        # The devvm's t3 (its t3Package, npm global): a stand-in serving `t3 serve --host H --port P`.
        cat >/usr/local/bin/t3 <<'JS'
        #!/usr/bin/node
        const a = process.argv.slice(2), at = k => a[a.indexOf(k) + 1];
        require("http").createServer((q, r) => r.end("t3 of " + process.env.USER)).listen(+at("--port"), at("--host"));
        JS
        chmod 755 /usr/local/bin/t3
        systemd-run --quiet --unit t3-dispatch -p User={{Dispatcher}} /usr/bin/node /usr/local/lib/t3-dispatch.js /etc/t3-serve/dispatch.json
        for _ in $(seq 1 50); do curl -s -o /dev/null -m 1 http://127.0.0.1:{{DispatchPort}}/ && break; sleep 0.2; done
        """;

    /// <summary>What the dispatcher answers each Authentik user, admin first.</summary>
    private static readonly string Route = $$"""
        route() {
          local body=""
          for _ in $(seq 1 25); do
            body=$(curl -sS -m 2 "http://127.0.0.1:{{DispatchPort}}/$1" 2>&1) && case "$body" in *"t3 of"*) break ;; esac
            sleep 0.2
          done
          echo "$1: $body"
        }
        route wiz.a
        route emo.a
        """;

    private async Task RoutedAsync(string when) => AdoptedUpTests.AssertRouted(await box.ScriptAsync(Route, Bounded), when);

    /// <summary>The devvm stack's own site values: Pulumi.devvm.yaml over Pulumi.yaml's defaults; its TODOs filled by the test (edgeUser: what adopt plan printed).</summary>
    private SiteSettings DevvmSite(string edgeUser)
    {
        var (devvm, why) = StackFile.Read(Path.Combine(box.RepoRoot, "Pulumi.devvm.yaml"));
        Assert.True(devvm is not null, why);
        string Devvm(string key) => devvm!.TryGetValue("workstation:" + key, out var v) ? v : throw new InvalidDataException($"Pulumi.devvm.yaml has no {key}");
        Assert.False(devvm!.ContainsKey("workstation:edgeUser"), "edgeUser is a TODO in Pulumi.devvm.yaml");
        Assert.False(devvm.ContainsKey("workstation:t3Command"), "the devvm takes t3Command from Pulumi.yaml");
        return new SiteSettings(
            HostWorld.FixtureRepoUrl, // TODO(owner) in the stack: the fixture repository
            "https://auth.example.test/application/o/kubernetes/", "kubernetes", "fixture", "https://k8s.example.test:6443", // TODO(owner)
            Devvm("vaultAddr"),
            ProjectDefault("t3Command"),
            edgeUser);
    }

    /// <summary>A key's `default:` in Pulumi.yaml (the line after the key's, among its fields).</summary>
    private string ProjectDefault(string key)
    {
        var lines = File.ReadAllLines(Path.Combine(box.RepoRoot, "Pulumi.yaml"));
        var at = Array.FindIndex(lines, l => l == $"  {key}:");
        Assert.True(at >= 0, $"Pulumi.yaml declares no {key}");
        var d = lines.Skip(at + 1).TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal)).Single(l => l.StartsWith("    default: ", StringComparison.Ordinal));
        return d["    default: ".Length..];
    }

    [GeneratedRegex(@"^ok: edge: the dispatcher runs as (\S+); set: pulumi config set edgeUser (\S+)$", RegexOptions.Multiline)]
    private static partial Regex EdgeLine();

    [Fact]
    public async Task S1_Adopt_plan_names_the_dispatchers_account_and_with_it_set_the_first_services_step_keeps_everyone_routed_admin_first()
    {
        var fresh = await box.SandboxAsync("up");
        Assert.True(fresh.ExitCode == 0, fresh.ToString());
        try
        {
            await box.ScriptAsync(AdoptedUpTests.SeedBox, Bounded);
            await box.ScriptAsync(HostWorld.MakeFixtureRepo, Bounded);
            await box.ScriptAsync(StartDispatcher, Bounded);
            await RoutedAsync("the seed box");
            var bundle = HostWorld.HostBundle(box.RepoRoot);
            await box.MustAsync(HostCommands.InstallTakingOver(["/etc/systemd/system/t3-serve@.service"]), stdin: bundle, timeout: Bounded);

            // adopt plan: the account holding the connections to the t3 ports, running the dispatcher.
            var plan = await box.MustAsync(HostCommands.Manual.AdoptPlan([Wiz.Derived(), Emo.Derived()]), timeout: Bounded);
            Assert.Contains($"edge: {Dispatcher} holds a connection to a t3 port (pid ", plan.Stdout, StringComparison.Ordinal);
            Assert.Contains($"edge: {Dispatcher} runs a dispatcher (pid ", plan.Stdout, StringComparison.Ordinal);
            var m = EdgeLine().Match(plan.Stdout);
            Assert.True(m.Success, plan.Stdout);
            Assert.Equal(Dispatcher, m.Groups[2].Value);
            var edgeUser = m.Groups[2].Value;

            // The runbook's hand-over, then `pulumi up` with the devvm stack's values: base, site, each person (admin first).
            await box.MustAsync("rm /etc/cron.d/t3-provision");
            await box.MustAsync(HostCommands.Manual.AdoptRecord("/etc/t3-serve/dispatch.json"));
            await box.MustAsync(HostCommands.Manual.AdoptRecord("/etc/ttyd-user-map"));
            await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot), timeout: Bounded);
            await box.MustAsync(HostCommands.Site(DevvmSite(edgeUser), RosterSettings.Default, Wiz.Name), timeout: Bounded);
            await RoutedAsync("the site step");
            foreach (var u in new[] { Wiz, Emo })
            {
                var steps = u.Apply(tokenStdin: false, adopt: true);
                await box.MustAsync(steps.Account, timeout: Bounded);
                await box.MustAsync(steps.Code, timeout: Bounded);
                await box.MustAsync(steps.Services, timeout: Bounded);
                await RoutedAsync($"{u.Name}'s first services step");
            }
            await box.MustAsync(HostCommands.Maps([Wiz.Derived(), Emo.Derived()]), timeout: Bounded);
            await RoutedAsync("the maps step");
            // The firewall holds for everyone else: a person can't reach the admin's t3.
            var other = await box.RunAsync("runuser -u emo -- curl -sS -m 2 http://127.0.0.1:3773/");
            Assert.NotEqual(0, other.ExitCode);
        }
        finally
        {
            // This box is spent: the next test of the collection starts from its own `up`.
            await HostWorld.ResetAsync(box);
        }
    }
}

/// <summary>
/// Issue 24 §1's attack on `adopt plan`, on the shared box (it needs no seed-like box of its own,
/// so it runs with the shared box's tests, not with <see cref="EdgeAccountTests"/>).
/// </summary>
[Collection(SandboxCollection2.Name)]
public sealed class EdgeAccountAttackTests(SandboxFixture box) : BoxTests(TimeSpan.FromMinutes(3))
{

    /// <summary>
    /// The attacker: a roster person who names their process (prctl, any byte but NUL) so that the
    /// plan's "UID PID NAME" line for their connection would carry a forged second line, naming
    /// nobody as the account holding a connection to a t3 port: the edge the owner would then set.
    /// </summary>
    [Fact]
    public async Task S1_A_person_cannot_make_adopt_plan_name_an_edge_account_with_a_crafted_process_name()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync("getent passwd atk >/dev/null || useradd -m -u 2293 -s /bin/bash atk");
        await box.MustAsync("systemd-run --quiet --unit ws-atk-t3 -p User=nobody python3 -m http.server 4493 --bind 127.0.0.1");
        await box.MustAsync("""
            printf '%s\n' 'import ctypes, socket, time' \
              'ctypes.CDLL(None).prctl(15, b"x\n65534 1 forged", 0, 0, 0)' \
              'for _ in range(50):' \
              '    try: s = socket.create_connection(("127.0.0.1", 4493)); break' \
              '    except OSError: time.sleep(0.1)' \
              'time.sleep(600)' >/usr/local/lib/ws-atk.py
            systemd-run --quiet --unit ws-atk -p User=atk python3 /usr/local/lib/ws-atk.py
            for _ in $(seq 1 50); do grep -q '^x$' /proc/"$(systemctl show -p MainPID --value ws-atk)"/comm 2>/dev/null && break; sleep 0.1; done
            """);
        try
        {
            var atk = new TestUser("atk", 2293, 4493, 4593);
            // The connection is there, held by atk under the crafted name.
            var held = await box.MustAsync("""
                for _ in $(seq 1 50); do
                  n=$(awk 'FNR > 1 && $4 == "01" { split($3, a, ":"); if (a[2] == "118D") n++ } END { print n + 0 }' /proc/net/tcp /proc/net/tcp6)
                  [ "$n" -gt 0 ] && break; sleep 0.1
                done; echo "$n"
                """);
            Assert.NotEqual("0", held.Stdout.Trim());
            var plan = await box.MustAsync(HostCommands.Manual.AdoptPlan([atk.Derived()]), timeout: Bounded);
            Assert.DoesNotContain("edge: nobody", plan.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("edgeUser nobody", plan.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("forged", plan.Stdout, StringComparison.Ordinal);
            Assert.Contains("ok: edge: no account holds a connection to a t3 port or runs a dispatcher", plan.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await box.RunAsync("systemctl stop ws-atk ws-atk-t3");
        }
    }
}


namespace Host.Tests;

/// <summary>
/// The first `pulumi up` on a devvm set up by hand, in the runbook's order
/// (docs/adopting-a-live-devvm.md), on a fresh box built to look like the seed's: a hand-made
/// t3-serve@ template already serving the admin and a person, hand-written maps, an hourly
/// legacy reconcile, accounts Workstation does not manage yet. The dispatcher stand-in routes an
/// Authentik user through dispatch.json to their t3 port as the edge account. Routing works
/// before, at every step of the hand-over, and after the program's commands, the admin checked
/// first each time.
/// </summary>
[Collection(ReplacedBoxCollection.Name)]
public sealed class AdoptedUpTests(SandboxFixture box) : BoxTests(TimeSpan.FromMinutes(3))
{
    private static readonly TestUser Wiz = new("wiz", 2000, 3773, 8931, Tier: "admin", Groups: ["sudo", "docker", "code-shared"]);
    private static readonly TestUser Emo = new("emo", 2001, 3774, 8932);
    private const string Template = "/etc/systemd/system/t3-serve@.service";
    private const string Edge = "t3-edge";

    /// <summary>The hand-made t3 template of the older scripts (t3-provision-users.sh), as a shell step that writes it.</summary>
    internal const string LegacyTemplate = """
        cat >/etc/systemd/system/t3-serve@.service <<'UNIT'
        # installed by the older scripts (t3-provision-users.sh)
        [Unit]
        Description=t3 for %i (hand-made)
        [Service]
        User=%i
        EnvironmentFile=/etc/t3-legacy/%i.env
        ExecStart=/usr/bin/node -e 'require("http").createServer((q, r) => r.end("legacy t3 of " + process.env.USER)).listen(+process.env.T3_PORT, "127.0.0.1")'
        [Install]
        WantedBy=multi-user.target
        UNIT
        """;

    /// <summary>The live devvm as the older scripts left it.</summary>
    internal const string SeedBox = $$"""
        set -euo pipefail
        for g in docker code-shared; do getent group "$g" >/dev/null || groupadd "$g"; done
        useradd -m -u 2000 -s /bin/bash -G sudo,docker,code-shared wiz
        useradd -m -u 2001 -s /bin/bash emo
        useradd -r -s /usr/sbin/nologin t3-edge
        mkdir -p /etc/t3-legacy /etc/t3-serve
        echo T3_PORT=3773 >/etc/t3-legacy/wiz.env
        echo T3_PORT=3774 >/etc/t3-legacy/emo.env
        {{LegacyTemplate}}
        systemctl daemon-reload
        systemctl enable --now --quiet t3-serve@wiz.service t3-serve@emo.service
        printf '{\n  "wiz.a": {"os_user": "wiz", "port": 3773},\n  "emo.a": {"os_user": "emo", "port": 3774}\n}\n' >/etc/t3-serve/dispatch.json
        printf 'wiz.a 3773\nemo.a 3774\n' >/etc/ttyd-user-map
        echo '17 * * * * root /usr/local/sbin/t3-provision-users.sh' >/etc/cron.d/t3-provision
        """;

    /// <summary>route AUTHENTIK_USER: what the dispatcher would serve them: their dispatch.json port, reached as the edge account.</summary>
    private const string Route = """
        route() {
          local port body
          port=$(jq -r --arg u "$1" '.[$u].port // empty' /etc/t3-serve/dispatch.json)
          [ -n "$port" ] || { echo "$1: no route"; return 0; }
          for _ in $(seq 1 50); do
            body=$(runuser -u t3-edge -- curl -sS -m 2 "http://127.0.0.1:$port/" 2>/dev/null) && break
            sleep 0.2
          done
          echo "$1: ${body:-nothing answers on $port}"
        }
        route wiz.a
        route emo.a
        """;

    private async Task RoutedAsync(string when) => AssertRouted(await box.ScriptAsync(Route, Bounded), when);

    /// <summary>A route script's lines, admin first: each person of the seed box reaches their own t3 (legacy or Workstation's).</summary>
    internal static void AssertRouted(string routes, string when)
    {
        var lines = routes.Trim().Split('\n');
        Assert.True(lines.Length == 2, $"{when}: {string.Join(" | ", lines)}");
        Assert.True(Regex.IsMatch(lines[0], "^wiz\\.a: (legacy )?t3 of wiz$"), $"{when}: {lines[0]}");
        Assert.True(Regex.IsMatch(lines[1], "^emo\\.a: (legacy )?t3 of emo$"), $"{when}: {lines[1]}");
    }

    [Fact]
    public async Task After_the_hand_over_the_programs_commands_keep_everyone_routed_admin_first()
    {
        var fresh = await box.SandboxAsync("up");
        Assert.True(fresh.ExitCode == 0, fresh.ToString());
        try
        {
            await box.ScriptAsync(SeedBox, Bounded);
            await box.ScriptAsync(HostWorld.MakeFixtureRepo, Bounded);
            await RoutedAsync("the seed box");
            var bundle = HostWorld.HostBundle(box.RepoRoot);

            // The install step refuses the hand-made template, with its diff, and changes nothing.
            var refused = await box.RunAsync(HostCommands.Install, stdin: bundle, timeout: Bounded);
            Assert.True(refused.ExitCode == 3, refused.ToString());
            Assert.Contains("  -# installed by the older scripts", refused.Stderr, StringComparison.Ordinal);
            Assert.Equal("no", (await box.MustAsync("test -e /usr/local/lib/workstation && echo yes || echo no")).Stdout.Trim());
            await RoutedAsync("a refused install");

            // The stack's takeOver lists it: backed up, replaced; the running instances keep serving.
            var install = await box.MustAsync(HostCommands.InstallTakingOver([Template]), stdin: bundle, timeout: Bounded);
            Assert.Contains(install.Changes(), l => l.Contains($"changed: adopted {Template} ", StringComparison.Ordinal));
            await RoutedAsync("the install");

            // 1. The plan names what is left; 2. the hand-over.
            var plan = await box.MustAsync(HostCommands.Manual.AdoptPlan([Wiz.Derived(), Emo.Derived()]), timeout: Bounded);
            foreach (var expected in new[]
            {
                "conflict: /etc/t3-serve/dispatch.json holds content Workstation did not write",
                "conflict: /etc/ttyd-user-map holds content Workstation did not write",
                "conflict: legacy reconcile in /etc/cron.d/t3-provision",
                "conflict: wiz: the account exists and Workstation does not manage it",
                "conflict: emo: the account exists and Workstation does not manage it",
            })
                Assert.Contains(expected, plan.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain($"conflict: {Template}", plan.Stdout, StringComparison.Ordinal);
            await box.MustAsync("rm /etc/cron.d/t3-provision");
            await box.MustAsync(HostCommands.Manual.AdoptRecord("/etc/t3-serve/dispatch.json"));
            await box.MustAsync(HostCommands.Manual.AdoptRecord("/etc/ttyd-user-map"));
            await RoutedAsync("the hand-over");

            // 4. `pulumi up`: base, site, each person (adopt: true), maps; the admin first.
            await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot), timeout: Bounded);
            await box.MustAsync(HostWorld.SiteCommand(t3Command: FirewallTests.FakeT3, edgeUser: Edge), timeout: Bounded);
            foreach (var u in new[] { Wiz, Emo })
            {
                await box.MustAsync(u.Apply(adopt: true), stdin: u.TokenStdin, timeout: Bounded);
                await RoutedAsync($"{u.Name}'s steps");
            }
            await box.MustAsync(HostCommands.Maps([Wiz.Derived(), Emo.Derived()]), timeout: Bounded);
            await RoutedAsync("the maps step");
            var after = await box.MustAsync(HostCommands.Manual.AdoptPlan([Wiz.Derived(), Emo.Derived()]), timeout: Bounded);
            Assert.Contains("adopt plan: 0 conflict(s); nothing was changed", after.Stdout, StringComparison.Ordinal);

            // When each instance restarts (the idle gate's moment), Workstation's template serves the same route.
            await box.MustAsync("systemctl restart t3-serve@wiz.service t3-serve@emo.service");
            var routes = await box.ScriptAsync(Route, Bounded);
            Assert.Equal("wiz.a: t3 of wiz\nemo.a: t3 of emo\n", routes);
        }
        finally
        {
            // This box is spent: the next test of the collection starts from its own `up`.
            await HostWorld.ResetAsync(box);
        }
    }
}

namespace Host.Tests;

/// <summary>
/// Runs tests/golden/host-commands.txt line by line over SSH: the very strings the Pulumi
/// mock tests assert the Commands carry (Roster.Tests pins that HostCommands builds them),
/// so roster → Pulumi → host is covered end to end.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class GoldenChainTests(SandboxFixture box)
{
    private static readonly string[] Users = ["alice", "bob", "wiz"];

    /// <summary>What the golden stack reads from Vault for the golden roster's people (their default eligibility).</summary>
    internal static string Bundle(string u) =>
        $"{{\"beads-key\":\"golden-beads-{u}\",\"memory-key\":\"golden-memory-{u}\",\"repo-token\":\"golden-repo-{u}\",\"snapshot-token\":\"golden-token-{u}\"}}";

    /// <summary>What Pulumi runs to create (or update) a person: the four steps in dependency order, one SSH session each.</summary>
    private async Task OnboardAsync(Dictionary<string, string> g, string u)
    {
        await box.MustAsync(g[$"account:{u}"], timeout: TimeSpan.FromMinutes(3));
        await box.MustAsync(g[$"code:{u}"], timeout: TimeSpan.FromMinutes(3));
        await box.MustAsync(g[$"services:{u}"], timeout: TimeSpan.FromMinutes(3));
        await box.MustAsync(g[$"secrets:{u}"], stdin: Bundle(u), timeout: TimeSpan.FromMinutes(3));
    }

    /// <summary>
    /// What Pulumi runs to delete a person: each host step's stored delete, in the engine's order
    /// (<see cref="HostStep.DeleteOrder"/>: the cut first, then secrets, services, the account; the
    /// clone's step has none), each a golden line. The admin's steps have none at all: the golden
    /// file has no line for them.
    /// </summary>
    private async Task OffboardAsync(Dictionary<string, string> g, string u)
    {
        var person = Derivation.Derive(RosterLoader.Load(File.ReadAllText(Path.Combine(box.RepoRoot, "tests", "golden", "roster.yaml"))).ModelOrThrow())
            .Users.Single(d => d.OsUser == u);
        if (u == "wiz")
        {
            Assert.False(g.ContainsKey("stop:wiz") || g.ContainsKey("suspend:wiz") || g.ContainsKey("remove-secrets:wiz"), "the admin's steps have a delete");
            Assert.All(HostStep.All, s => Assert.Null(HostCommands.Delete(s, person)));
            return;
        }
        foreach (var step in HostStep.DeleteOrder(HostStep.For(person.IsAdmin, stagesSecrets: true)).SelectMany(r => r))
        {
            if (HostCommands.Delete(step, person) is not { } delete) continue;
            Assert.Contains(delete, g.Values);
            await box.MustAsync(delete);
        }
    }

    private Dictionary<string, string> Golden() => Golden(box.RepoRoot);

    /// <summary>tests/golden/host-commands.txt: each line's key (install, site, account:alice, ...) and command.</summary>
    internal static Dictionary<string, string> Golden(string repoRoot) =>
        File.ReadLines(Path.Combine(repoRoot, "tests", "golden", "host-commands.txt"))
            .Select(l => l.Split('\t', 2))
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);

    [Fact]
    public async Task The_golden_commands_onboard_reconcile_and_offboard_the_golden_roster()
    {
        await HostWorld.ReadyAsync(box);
        var g = Golden();
        Assert.Equal(HostCommands.Install, g["install"]);
        await box.MustAsync(g["install"], stdin: HostWorld.HostBundle(box.RepoRoot));
        await box.MustAsync(g["site"]);

        // Onboard (Pulumi create): three sessions a user, the token on the services step's stdin.
        foreach (var u in Users) await OnboardAsync(g, u);
        await box.MustAsync(g["maps"]);
        var state = await box.ScriptAsync("""
            for u in alice bob wiz; do
              echo "$u uid=$(id -u "$u") groups=$(id -nG "$u" | tr ' ' '\n' | sort | paste -sd,) pw=$(passwd -S "$u" | cut -d' ' -f2)"
              echo "$u env=$(cat /etc/workstation/t3-$u.env /etc/workstation/playwright-$u.env | paste -sd,)"
              echo "$u units=$(systemctl is-active t3-serve@$u.service playwright-mcp@$u.service playwright-snapshot-refresh@$u.timer | paste -sd,)"
            done
            """);
        Assert.Contains("alice uid=2001 groups=alice,workstation pw=L", state, StringComparison.Ordinal);
        Assert.Contains("bob uid=2002 groups=bob,workstation pw=L", state, StringComparison.Ordinal);
        Assert.Contains("wiz uid=2000 groups=code-shared,docker,sudo,wiz,workstation pw=L", state, StringComparison.Ordinal);
        Assert.Contains("alice env=T3_PORT=3774,PLAYWRIGHT_PORT=8932", state, StringComparison.Ordinal);
        Assert.Contains("wiz env=T3_PORT=3773,PLAYWRIGHT_PORT=8931", state, StringComparison.Ordinal);
        foreach (var u in Users) Assert.Contains($"{u} units=active,active,active", state, StringComparison.Ordinal);

        // Reconcile (Pulumi update runs the same strings): nothing changes.
        var before = await box.ScriptAsync(HostWorld.Snapshot);
        foreach (var u in Users)
        {
            Assert.Empty((await box.MustAsync(g[$"account:{u}"])).Changes());
            Assert.Empty((await box.MustAsync(g[$"code:{u}"])).Changes());
            Assert.Empty((await box.MustAsync(g[$"services:{u}"])).Changes());
            Assert.Empty((await box.MustAsync(g[$"secrets:{u}"], stdin: Bundle(u))).Changes());
        }
        await box.AssertSameAsync(before, await box.ScriptAsync(HostWorld.Snapshot), "a reconcile with the golden commands changed the host");

        // Offboard (Pulumi delete replays the stored strings): locked, stopped, nothing deleted.
        // The cut takes out the secrets she held (the file, and the MCP server in ~/.claude.json); the rest of the home stays.
        const string Home = "find /home/alice ! -path '/home/alice/.claude*' ! -path /home/alice/.config/workstation/snapshot-token ! -path /home/alice/.config/workstation/repo-token -printf '%P|%y|%m|%s\\n' | sort | sha256sum";
        var homes = await box.ScriptAsync(Home);
        await OffboardAsync(g, "alice");
        Assert.Equal("absent no-memory-server", (await box.ScriptAsync("""
            printf '%s ' "$(test -e /home/alice/.config/workstation/snapshot-token && echo present || echo absent)"
            jq -e '.mcpServers.claude_memory' /home/alice/.claude.json >/dev/null && echo has-memory-server || echo no-memory-server
            """)).Trim());
        var cut = await box.ScriptAsync("""
            echo "pw=$(passwd -S alice | cut -d' ' -f2)"
            echo "units=$(systemctl is-active t3-serve@alice.service playwright-mcp@alice.service playwright-snapshot-refresh@alice.timer | paste -sd, || true)"
            echo "enabled=$(systemctl is-enabled t3-serve@alice.service playwright-mcp@alice.service playwright-snapshot-refresh@alice.timer | paste -sd, || true)"
            """);
        Assert.Contains("pw=L", cut, StringComparison.Ordinal);
        Assert.Contains("units=inactive,inactive,inactive", cut, StringComparison.Ordinal);
        Assert.Contains("enabled=disabled,disabled,disabled", cut, StringComparison.Ordinal);
        Assert.Equal(homes, await box.ScriptAsync(Home));

        // Back on the roster: the same create strings bring her back with the same uid and ports.
        await OnboardAsync(g, "alice");
        var back = await box.ScriptAsync("""
            echo "uid=$(id -u alice) env=$(cat /etc/workstation/t3-alice.env /etc/workstation/playwright-alice.env | paste -sd,)"
            echo "units=$(systemctl is-active t3-serve@alice.service playwright-mcp@alice.service playwright-snapshot-refresh@alice.timer | paste -sd,)"
            """);
        Assert.Contains("uid=2001 env=T3_PORT=3774,PLAYWRIGHT_PORT=8932", back, StringComparison.Ordinal);
        Assert.Contains("units=active,active,active", back, StringComparison.Ordinal);

        // Leave the box as other tests expect: every golden user but the admin cut again.
        foreach (var u in Users) await OffboardAsync(g, u);
    }
}

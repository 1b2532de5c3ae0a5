
namespace Host.Tests;

/// <summary>
/// Issue 26 §3: a playwright port that moves takes the person's MCP entry with it. The entry the
/// program wrote (recorded as its own, root-side) is repointed as the person, with a backup, once
/// the server restarts on its new port (the idle gate); every other key of ~/.claude.json stays.
/// An entry the person wrote by hand is left alone, and `user status` and drift report it.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class PlaywrightEntryTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(90))
{
    private static readonly TestUser Pe1 = TestUser.Numbered("pe1", 2610, 4710);
    private static readonly TestUser Pe2 = TestUser.Numbered("pe2", 2611, 4712);
    private static readonly TestUser Pe3 = new("pe3", 2612, 4713, 4814);
    private static readonly TestUser Pe4 = new("pe4", 2613, 4714, 4816);

    private static string Url(int port) => $"http://127.0.0.1:{BoxExtensions.Num(port)}/mcp";

    /// <summary>The person's playwright entry (user scope), as the person reads it.</summary>
    private async Task<string> EntryAsync(TestUser u) =>
        (await box.MustAsync($"runuser -u {u.Name} -- jq -c .mcpServers.playwright {u.Home}/.claude.json")).Stdout.Trim();

    /// <summary>~/.claude.json without the playwright entry, keys sorted: what a repoint must keep.</summary>
    private async Task<string> RestAsync(TestUser u) =>
        (await box.MustAsync($"runuser -u {u.Name} -- jq -S -c 'del(.mcpServers.playwright)' {u.Home}/.claude.json")).Stdout.Trim();

    private async Task<JsonElement> EntryStatusAsync(TestUser u)
    {
        var r = await box.MustAsync(u.Status());
        return JsonDocument.Parse(r.Stdout).RootElement.GetProperty("playwright_entry").Clone();
    }

    /// <summary>roster drift's lines about the person's playwright entry, from the host's own report.</summary>
    private async Task<List<string>> EntryDriftAsync(TestUser u)
    {
        var roster = new DerivedRoster(RosterSettings.Default, [new Member.Active(u.Derived())]);
        var report = await box.MustAsync(HostCommands.Manual.StatusAll);
        using var doc = JsonDocument.Parse(report.Stdout);
        return Workstation.Roster.Drift.Check(roster, doc.RootElement)
            .Where(i => i.OsUser == u.Name && i.Fact.StartsWith("playwright MCP entry", StringComparison.Ordinal))
            .Select(i => i.ToString()).ToList();
    }

    [Fact]
    public async Task A_moved_playwright_port_repoints_the_entry_the_program_wrote_keeping_every_other_key_and_a_backup()
    {
        await box.OnboardAsync(Pe1, Bounded);
        Assert.Equal($$"""{"type":"http","url":"{{Url(4810)}}"}""", await EntryAsync(Pe1));
        // The person's own keys and servers, beside the program's entry.
        await box.MustAsync("""runuser -u pe1 -- sh -c 'cd && jq ".theirs = {notes: [1, 2.5, \"é\"]} | .mcpServers.mine = {type: \"stdio\", command: \"my-tool\"}" .claude.json > .claude.json.new && mv .claude.json.new .claude.json'""");
        var rest = await RestAsync(Pe1);
        var owner = (await box.MustAsync("stat -c '%U %a' /home/pe1/.claude.json")).Stdout;

        var moved = Pe1 with { PlaywrightPort = 4811 };
        var r = await box.MustAsync(HostCommands.Services(moved.Derived()), timeout: Bounded);
        Assert.True(r.Changes().Any(l => l.EndsWith($"/home/pe1/.claude.json: playwright MCP entry repointed to {Url(4811)}", StringComparison.Ordinal)), r.ToString());
        Assert.Equal($$"""{"type":"http","url":"{{Url(4811)}}"}""", await EntryAsync(Pe1));
        Assert.Equal(rest, await RestAsync(Pe1));
        // The backup holds the file as it was, old entry and all.
        var backup = await box.ScriptAsync("""cd /home/pe1 && for f in .claude.json.bak-*; do runuser -u pe1 -- jq -c .mcpServers.playwright "$f"; done""");
        Assert.Contains($$"""{"type":"http","url":"{{Url(4810)}}"}""", backup, StringComparison.Ordinal);
        Assert.Equal(owner, (await box.MustAsync("stat -c '%U %a' /home/pe1/.claude.json")).Stdout);

        var status = await EntryStatusAsync(Pe1);
        Assert.Equal("ours", status.GetProperty("state").GetString());
        Assert.Equal(4811, status.GetProperty("port").GetInt32());
        Assert.Empty(await EntryDriftAsync(moved));
        // Settled: the next run changes nothing.
        Assert.Empty((await box.MustAsync(HostCommands.Services(moved.Derived()), timeout: Bounded)).Changes());
    }

    /// <summary>`user status` in words: the line about the person's playwright entry, or nothing.</summary>
    private async Task<string> EntryLineAsync(TestUser u) =>
        string.Join('\n', (await box.MustAsync(u.Status().Replace(" --json", "", StringComparison.Ordinal))).Stdout.Split('\n')
            .Where(l => l.StartsWith("  playwright entry: ", StringComparison.Ordinal)));

    /// <summary>
    /// The repoint goes through the idle gate: while the person types, the server keeps its old port
    /// and so does the entry (status and drift say so); once they are idle, the timer's `restart
    /// pending` restarts the server on its new port and repoints the entry with it.
    /// </summary>
    [Fact]
    public async Task The_entry_waits_for_the_idle_gate_and_follows_the_server_when_it_restarts_on_its_new_port()
    {
        await box.OnboardAsync(Pe3, Bounded);
        await using (await box.GateByHandAsync("ws-pe3-term"))
        {
            await box.ScriptAsync(HostWorld.OpenTypedTerminal("pe3", "ws-pe3-term"));
            var moved = Pe3 with { PlaywrightPort = 4815 };
            var r = await box.MustAsync(HostCommands.Services(moved.Derived()), timeout: Bounded);
            await box.HoldTimerAgainAsync();
            Assert.Contains("workstation: playwright MCP entry of pe3: repointed to port 4815 once playwright-mcp@pe3.service restarts there (restart pending)", r.Stdout, StringComparison.Ordinal);
            Assert.Equal($$"""{"type":"http","url":"{{Url(4814)}}"}""", await EntryAsync(Pe3));
            var status = await EntryStatusAsync(Pe3);
            Assert.Equal(("ours", 4814, 4815), (status.GetProperty("state").GetString(), status.GetProperty("port").GetInt32(), status.GetProperty("server_port").GetInt32()));
            Assert.Equal("  playwright entry: points at port 4814, the server listens on port 4815: repointed once the server restarts there", await EntryLineAsync(Pe3));
            Assert.Equal(["pe3: playwright MCP entry in ~/.claude.json: expected port 4815; actual port 4814"], await EntryDriftAsync(moved));

            await box.ScriptAsync("systemctl stop ws-pe3-term");
            var late = await box.MustAsync(HostCommands.Manual.RestartPending, timeout: Bounded);
            Assert.Contains(late.Changes(), l => l.Contains("restarted playwright-mcp@pe3.service with its new config", StringComparison.Ordinal));
            Assert.Contains("workstation: changed: /home/pe3/.claude.json: playwright MCP entry repointed to http://127.0.0.1:4815/mcp", late.Changes());
            Assert.Equal($$"""{"type":"http","url":"{{Url(4815)}}"}""", await EntryAsync(Pe3));
            Assert.Equal("", await EntryLineAsync(Pe3));
            Assert.Empty(await EntryDriftAsync(moved));
        }
    }

    /// <summary>
    /// An entry the person changed is theirs: a port move leaves it alone, and status and drift say
    /// it points elsewhere; so does one they replaced with a server of their own, or removed (the
    /// services step then adds the program's again, on the current port).
    /// </summary>
    [Fact]
    public async Task An_entry_the_person_made_by_hand_is_left_alone_and_status_and_drift_report_where_it_points()
    {
        await box.OnboardAsync(Pe2, Bounded);
        await box.MustAsync("""runuser -u pe2 -- sh -c 'cd && jq ".mcpServers.playwright.headers = {\"X-Mine\": \"1\"}" .claude.json > .claude.json.new && mv .claude.json.new .claude.json'""");
        var theirs = await EntryAsync(Pe2);
        var file = (await box.MustAsync("sha256sum /home/pe2/.claude.json")).Stdout;

        var moved = Pe2 with { PlaywrightPort = 4813 };
        var r = await box.MustAsync(HostCommands.Services(moved.Derived()), timeout: Bounded);
        Assert.Contains("workstation: notice: pe2's playwright MCP entry is their own: left alone; the server listens on port 4813 ('workstation user status pe2')", r.Stdout, StringComparison.Ordinal);
        Assert.Equal(theirs, await EntryAsync(Pe2));
        Assert.Equal(file, (await box.MustAsync("sha256sum /home/pe2/.claude.json")).Stdout);
        var status = await EntryStatusAsync(Pe2);
        Assert.Equal(("hand-made", 4812, 4813), (status.GetProperty("state").GetString(), status.GetProperty("port").GetInt32(), status.GetProperty("server_port").GetInt32()));
        Assert.Equal("  playwright entry: made by hand, points at port 4812, the server listens on port 4813: left alone, for its person to repoint", await EntryLineAsync(Pe2));
        Assert.Equal(["pe2: playwright MCP entry in ~/.claude.json: expected port 4813; actual port 4812, made by hand (its person repoints it)"], await EntryDriftAsync(moved));
        // Settled: the next run neither reads nor changes it.
        Assert.Empty((await box.MustAsync(HostCommands.Services(moved.Derived()), timeout: Bounded)).Changes());

        // Replaced by a server of their own, not on a port.
        await box.MustAsync("""runuser -u pe2 -- sh -c 'cd && jq ".mcpServers.playwright = {type: \"stdio\", command: \"my-playwright\"}" .claude.json > .claude.json.new && mv .claude.json.new .claude.json'""");
        Assert.Equal(["pe2: playwright MCP entry in ~/.claude.json: expected port 4813; actual no local port, made by hand (its person repoints it)"], await EntryDriftAsync(moved));

        // Removed: missing, until the services step adds the program's own again, on the port it serves.
        await box.MustAsync("""runuser -u pe2 -- sh -c 'cd && jq "del(.mcpServers.playwright)" .claude.json > .claude.json.new && mv .claude.json.new .claude.json'""");
        Assert.Equal("missing", (await EntryStatusAsync(Pe2)).GetProperty("state").GetString());
        Assert.Equal("  playwright entry: none in ~/.claude.json (the services step adds it)", await EntryLineAsync(Pe2));
        Assert.Equal(["pe2: playwright MCP entry in ~/.claude.json: expected port 4813; actual missing"], await EntryDriftAsync(moved));
        await box.MustAsync(HostCommands.Services(moved.Derived()), timeout: Bounded);
        Assert.Equal($$"""{"type":"http","url":"{{Url(4813)}}"}""", await EntryAsync(Pe2));
        Assert.Equal("ours", (await EntryStatusAsync(Pe2)).GetProperty("state").GetString());
        Assert.Empty(await EntryDriftAsync(moved));
    }

    /// <summary>
    /// Attack: pe4 shapes ~/.claude.json to make root read or write elsewhere, or wait: a link to a
    /// file only root may read, a link to a root file holding exactly the entry the program wrote, a
    /// FIFO, a huge file. Status and the repoint (the timer's `restart pending`, which nothing checks
    /// before) finish in seconds, never follow the link as root, and write nothing; a plain file
    /// afterwards is repointed as usual.
    /// </summary>
    [Fact]
    public async Task A_hostile_claude_json_never_makes_root_follow_a_link_wait_or_write_elsewhere()
    {
        await box.OnboardAsync(Pe4, Bounded);
        var ours = $$"""{"type":"http","url":"{{Url(4816)}}"}""";
        var rootOnly = """{"mcpServers":{"playwright":{"type":"http","url":"http://127.0.0.1:1/mcp"}}}""";
        var rootFile = "{\"mcpServers\":{\"playwright\":" + ours + "}}";
        await box.ScriptAsync($$"""
            set -euo pipefail
            mkdir -p /srv/pe4 && chmod 755 /srv/pe4
            printf '%s\n' '{{rootOnly}}' > /srv/pe4/root-only.json
            chmod 600 /srv/pe4/root-only.json
            printf '%s\n' '{{rootFile}}' > /srv/pe4/root-file.json
            chmod 644 /srv/pe4/root-file.json
            runuser -u pe4 -- cp /home/pe4/.claude.json /home/pe4/.claude.json.real
            # Over the size bound, the entry the program wrote first: 40 MB of JSON.
            runuser -u pe4 -- sh -c '{ printf "{\"mcpServers\":{\"playwright\":%s},\"pad\":\"" "$1"; head -c 40000000 /dev/zero | tr "\0" a; printf "\"}\n"; } > /tmp/pe4-big.json' sh '{{ours}}'
            """);
        var backups = await box.ScriptAsync("ls -a /home/pe4 | grep -c '^.claude.json.bak-' || true");
        var rootFiles = await box.ScriptAsync("sha256sum /srv/pe4/*; stat -c '%n %U %a %Y' /srv/pe4/*");
        async Task Shape(string how) => await box.MustAsync($"runuser -u pe4 -- sh -c 'cd && rm -f .claude.json && {how}'");
        async Task<JsonElement> TimedStatus()
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var s = await EntryStatusAsync(Pe4);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"status took {clock.Elapsed}");
            return s;
        }
        await using (await box.GateByHandAsync("ws-pe4-term", then: "rm -rf /srv/pe4 /tmp/pe4-big.json"))
        {
            // Status, as root, reads nothing of what the links point at, and waits on nothing.
            await Shape("ln -s /srv/pe4/root-only.json .claude.json");
            var s = await TimedStatus();
            Assert.Equal("unreadable", s.GetProperty("state").GetString());
            Assert.Equal(JsonValueKind.Null, s.GetProperty("port").ValueKind);
            await Shape("mkfifo .claude.json");
            Assert.Equal("unreadable", (await TimedStatus()).GetProperty("state").GetString());
            await Shape("truncate -s 64G .claude.json");
            Assert.Equal("unreadable", (await TimedStatus()).GetProperty("state").GetString());

            // The repoint: each time the port moves while pe4 types, then the shaped file is in place when they go idle.
            var port = 4816;
            foreach (var how in new[]
            {
                "ln -s /srv/pe4/root-file.json .claude.json",
                "mkfifo .claude.json",
                "cp /tmp/pe4-big.json .claude.json",
            })
            {
                await Shape("cp .claude.json.real .claude.json");
                await box.ScriptAsync(HostWorld.OpenTypedTerminal("pe4", "ws-pe4-term"));
                port++;
                var r = await box.MustAsync(HostCommands.Services((Pe4 with { PlaywrightPort = port }).Derived()), timeout: Bounded);
                Assert.Contains($"repointed to port {port} once playwright-mcp@pe4.service restarts there (restart pending)", r.Stdout, StringComparison.Ordinal);
                // The step started the timer again; its first tick may do the restart before ours does.
                await box.HoldTimerAgainAsync();
                var pid = await box.ScriptAsync("systemctl show -p MainPID --value playwright-mcp@pe4.service");
                await Shape(how);
                var shaped = await box.ScriptAsync("stat -c '%F %s %Y' /home/pe4/.claude.json");
                await box.ScriptAsync("systemctl stop ws-pe4-term; systemctl reset-failed ws-pe4-term 2>/dev/null || true");
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var late = await box.RunAsync(HostCommands.Manual.RestartPending, timeout: TimeSpan.FromSeconds(60));
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"restart pending took {clock.Elapsed}:\n{late}");
                Assert.True(late.ExitCode == 0, late.ToString());
                // Restarted on its new port (by this run, or the timer's), and the entry left as pe4 shaped it, unread or unwritten.
                var left = await box.ScriptAsync("ls /run/workstation/restart-pending/ 2>/dev/null || true");
                Assert.False(left.Contains("@pe4.", StringComparison.Ordinal), $"{how}: still pending:\n{late}");
                Assert.NotEqual(pid, await box.ScriptAsync("systemctl show -p MainPID --value playwright-mcp@pe4.service"));
                Assert.Equal(shaped, await box.ScriptAsync("stat -c '%F %s %Y' /home/pe4/.claude.json"));
                Assert.Equal(ours + "\n", await box.ScriptAsync("cat /etc/workstation/playwright-entry-pe4.json"));
                Assert.False(late.Changes().Any(l => l.Contains("repointed", StringComparison.Ordinal)), $"{how}:\n{late}");
                Assert.Equal(rootFiles, await box.ScriptAsync("sha256sum /srv/pe4/*; stat -c '%n %U %a %Y' /srv/pe4/*"));
            }
            // No copy of any of them was made.
            Assert.Equal(backups, await box.ScriptAsync("ls -a /home/pe4 | grep -c '^.claude.json.bak-' || true"));

            // A plain file again, holding the entry the program wrote: the next step repoints it.
            await Shape("cp .claude.json.real .claude.json");
            var back = await box.MustAsync(HostCommands.Services((Pe4 with { PlaywrightPort = port }).Derived()), timeout: Bounded);
            Assert.Contains($"workstation: changed: /home/pe4/.claude.json: playwright MCP entry repointed to {Url(port)}", back.Changes());
            Assert.Equal($$"""{"type":"http","url":"{{Url(port)}}"}""", await EntryAsync(Pe4));
        }
    }

    /// <summary>
    /// Issue 26 §8: the services step writes the playwright entry itself (jq, as the person), not
    /// through a run of the claude CLI, and what it writes is what `claude mcp add` writes. Into a
    /// file the CLI wrote, byte for byte the file the real CLI makes of the same one; into no file,
    /// the entry laid out exactly as the CLI lays it out (the CLI adds its start-up keys when the
    /// person first runs it), a file the real CLI reads back.
    /// </summary>
    [Fact]
    public async Task The_playwright_entry_the_step_writes_is_byte_for_byte_what_claude_mcp_add_writes()
    {
        await HostWorld.ReadyAsync(box);
        var had = new TestUser("pj1", 2800, 6200, 6300);
        var none = new TestUser("pj2", 2801, 6201, 6301);
        const string Cli = "env CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 claude";
        var hadSteps = had.Apply(tokenStdin: false);
        var noneSteps = none.Apply(tokenStdin: false);
        foreach (var steps in new[] { hadSteps, noneSteps })
        {
            await box.MustAsync(steps.Account, timeout: Bounded);
            await box.MustAsync(steps.Code, timeout: Bounded);
        }
        try
        {
            // The real CLI, in scratch homes: a file it made, the same without the entry (base), what it
            // makes of base, and what it makes of no file.
            await box.ScriptAsync($$"""
                set -euo pipefail
                rm -rf /srv/pj && mkdir -p /srv/pj/a /srv/pj/b /srv/pj/c
                cd /srv/pj
                HOME=/srv/pj/a {{Cli}} mcp add --scope user --transport http playwright {{Url(had.PlaywrightPort)}} >/dev/null
                HOME=/srv/pj/a {{Cli}} mcp remove --scope user playwright >/dev/null
                cp a/.claude.json base.json
                cp base.json b/.claude.json
                HOME=/srv/pj/b {{Cli}} mcp add --scope user --transport http playwright {{Url(had.PlaywrightPort)}} >/dev/null
                HOME=/srv/pj/c {{Cli}} mcp add --scope user --transport http playwright {{Url(none.PlaywrightPort)}} >/dev/null
                install -o pj1 -g pj1 -m 600 base.json /home/pj1/.claude.json
                rm -f /home/pj2/.claude.json
                """, Bounded);

            var added = await box.MustAsync(hadSteps.Services, timeout: Bounded);
            Assert.Contains($"workstation: changed: /home/pj1/.claude.json: playwright MCP server {Url(had.PlaywrightPort)} (as claude mcp add writes it)", added.Changes());
            // Byte for byte the CLI's own result from the same file; the backup is that file; the CLI never ran as pj1.
            Assert.Equal(
                "same 600 pj1\nbackup same\nno-cli\n",
                await box.ScriptAsync("""
                    cmp -s /home/pj1/.claude.json /srv/pj/b/.claude.json && echo "same $(stat -c '%a %U' /home/pj1/.claude.json)" || echo differs
                    cmp -s /home/pj1/.claude.json.bak-* /srv/pj/base.json && echo "backup same" || echo "backup differs"
                    test -e /home/pj1/.claude && echo cli-ran || echo no-cli
                    """));

            var made = await box.MustAsync(noneSteps.Services, timeout: Bounded);
            Assert.True(made.Changes().Contains($"workstation: changed: /home/pj2/.claude.json: playwright MCP server {Url(none.PlaywrightPort)} (as claude mcp add writes it)"),
                made.ToString());
            var ours = await box.ScriptAsync("cat /home/pj2/.claude.json; echo \"<end $(stat -c '%a %U' /home/pj2/.claude.json)>\"");
            var cli = await box.ScriptAsync("cat /srv/pj/c/.claude.json; echo '<end>'");
            Assert.StartsWith("{\n  \"mcpServers\": {\n    \"playwright\": {\n", ours, StringComparison.Ordinal);
            Assert.EndsWith("}<end 600 pj2>\n", ours, StringComparison.Ordinal);
            // The CLI's file ends with the same lines, byte for byte: its own keys come before them.
            var entryLines = ours[2..ours.IndexOf("<end", StringComparison.Ordinal)];
            Assert.EndsWith(entryLines + "<end>\n", cli, StringComparison.Ordinal);
            Assert.Contains("\n  \"firstStartTime\"", cli, StringComparison.Ordinal);
            // The real CLI reads it back, as the person.
            var get = await box.MustAsync($"cd /home/pj2 && runuser -u pj2 -- {Cli} mcp get playwright", timeout: Bounded);
            Assert.Contains($"URL: {Url(none.PlaywrightPort)}", get.Stdout, StringComparison.Ordinal);

            // Both are recorded as the program's, and a re-run changes nothing.
            foreach (var steps in new[] { hadSteps, noneSteps })
            {
                Assert.Empty((await box.MustAsync(steps.Services, timeout: Bounded)).Changes());
            }
        }
        finally
        {
            await box.RunAsync("rm -rf /srv/pj; true");
            await box.RunAsync(had.Suspend());
            await box.RunAsync(none.Suspend());
        }
    }
}

namespace Host.Tests;

/// <summary>
/// Playwright that can browse: a person's playwright-mcp drives Debian's chromium. Real MCP
/// sessions over the person's port, as the person: initialize, navigate to a page served inside
/// the sandbox, take a snapshot, and find the page's text in it; several sessions at once, each
/// seeing only its own page.
/// </summary>
[Collection(SandboxCollection2.Name)]
public sealed class BrowsingTests(SandboxFixture box)
{
    private static readonly TestUser Brw = new("brw", 2233, 4433, 4533);

    private static readonly string Session = McpBrowser.Session("brw", 4533);
    private static readonly string WaitForServer = McpBrowser.WaitForServer("brw", 4533);

    private Task ServePagesAsync(string write, string first) => McpBrowser.ServePagesAsync(box, write, first);

    [Fact]
    public async Task A_persons_playwright_browses_a_page_and_several_sessions_run_at_once_each_with_its_own_page()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Brw.Apply(), stdin: Brw.TokenStdin, timeout: TimeSpan.FromSeconds(60));
        await ServePagesAsync("""for n in 1 2 3; do printf '<html><head><title>Page %s</title></head><body><h1>Marker-%s-kestrel</h1></body></html>\n' "$n" "$n" >/srv/pages/p$n.html; done""", "p1.html");
        try
        {
            var one = await box.ScriptAsync(Session + "\n" + WaitForServer + "\nmcp_session 1 p1.html\n", TimeSpan.FromSeconds(120));
            Assert.Contains("heading \"Marker-1-kestrel\"", one, StringComparison.Ordinal);
            Assert.Contains("Page 1", one, StringComparison.Ordinal);

            // Three at once: each session's snapshot has its own page and no other's.
            var three = await box.ScriptAsync(Session + "\n" + """
                for n in 1 2 3; do mcp_session "$n" "p$n.html" >"/tmp/brw-session-$n" & done
                wait
                cat /tmp/brw-session-1 /tmp/brw-session-2 /tmp/brw-session-3
                rm -f /tmp/brw-session-*
                """, TimeSpan.FromSeconds(120));
            var lines = three.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, lines.Length);
            foreach (var n in new[] { 1, 2, 3 })
            {
                var line = Assert.Single(lines, l => l.StartsWith($"{n}:", StringComparison.Ordinal));
                Assert.Contains($"Marker-{n}-kestrel", line, StringComparison.Ordinal);
                foreach (var other in new[] { 1, 2, 3 }.Where(o => o != n))
                    Assert.DoesNotContain($"Marker-{other}-kestrel", line, StringComparison.Ordinal);
            }
        }
        finally
        {
            await box.RunAsync("systemctl stop ws-pages; rm -rf /srv/pages");
        }
    }

    /// <summary>
    /// The snapshot refresh's storage state is what a session starts from: a cookie in it reaches
    /// the page. A file that is not a storage state is not passed on: the session starts clean.
    /// </summary>
    [Fact]
    public async Task A_session_starts_from_the_snapshot_storage_state_when_there_is_a_valid_one()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Brw.Apply(), stdin: Brw.TokenStdin, timeout: TimeSpan.FromSeconds(60));
        await ServePagesAsync("""printf '<html><body><p id="c">none</p><script>document.getElementById("c").textContent = "cookie:" + document.cookie;</script></body></html>\n' >/srv/pages/cookie.html""", "cookie.html");
        async Task<string> BrowseAfterRestart(string state)
        {
            await box.MustAsync("runuser -u brw -- sh -c 'mkdir -p ~/.local/state/workstation && cat > ~/.local/state/workstation/playwright-snapshot'", stdin: state);
            await box.MustAsync("systemctl restart playwright-mcp@brw.service");
            return await box.ScriptAsync(Session + "\n" + WaitForServer + "\nmcp_session 1 cookie.html\n", TimeSpan.FromSeconds(120));
        }
        try
        {
            const string state = """{"cookies":[{"name":"ws_state","value":"from-snapshot","domain":"127.0.0.1","path":"/","expires":-1,"httpOnly":false,"secure":false,"sameSite":"Lax"}],"origins":[]}""";
            var withState = await BrowseAfterRestart(state);
            Assert.Contains("cookie:ws_state=from-snapshot", withState, StringComparison.Ordinal);
            var cmdline = (await box.MustAsync("tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value playwright-mcp@brw.service)/cmdline")).Stdout;
            Assert.EndsWith(" --storage-state /home/brw/.local/state/workstation/playwright-snapshot ", cmdline, StringComparison.Ordinal);

            var withJunk = await BrowseAfterRestart("not a storage state\n");
            Assert.Contains("cookie:", withJunk, StringComparison.Ordinal);
            Assert.DoesNotContain("from-snapshot", withJunk, StringComparison.Ordinal);
        }
        finally
        {
            await box.RunAsync("systemctl stop ws-pages; rm -rf /srv/pages; rm -f /home/brw/.local/state/workstation/playwright-snapshot; systemctl restart playwright-mcp@brw.service");
        }
    }
    /// <summary>
    /// The pipeline end to end: the refresh timer's service fetches the snapshot from a server in
    /// the box that checks the person's bearer token (staged by the secrets step), a session that
    /// starts afterwards carries the refreshed state without a restart, and a refused fetch keeps
    /// the last good state and says why in the journal.
    /// </summary>
    [Fact]
    public async Task The_refresh_fetches_with_the_persons_token_and_the_next_session_starts_from_it_a_refused_fetch_keeps_the_last()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Brw.Apply(), stdin: Brw.TokenStdin, timeout: TimeSpan.FromSeconds(60));
        await ServePagesAsync("""printf '<html><body><p id="c">none</p><script>document.getElementById("c").textContent = "cookie:" + document.cookie;</script></body></html>\n' >/srv/pages/cookie.html""", "cookie.html");
        static string State(string value) =>
            $$"""{"cookies":[{"name":"ws_state","value":"{{value}}","domain":"127.0.0.1","path":"/","expires":-1,"httpOnly":false,"secure":false,"sameSite":"Lax"}],"origins":[]}""";
        try
        {
            // The chrome-service stand-in: /state answers only to "Bearer <the token in /srv/state/token>".
            await box.ScriptAsync($$"""
                set -euo pipefail
                mkdir -p /srv/state
                printf '%s' '{{Brw.Token}}' > /srv/state/token
                printf '%s' '{{State("from-refresh-1")}}' > /srv/state/state.json
                chmod -R a+rX /srv/state
                cat > /srv/state/serve.py <<'PY'
                import http.server
                class H(http.server.BaseHTTPRequestHandler):
                    def do_GET(self):
                        want = "Bearer " + open("/srv/state/token").read()
                        ok = self.path == "/state" and self.headers.get("Authorization") == want
                        body = open("/srv/state/state.json", "rb").read() if ok else b"no"
                        self.send_response(200 if ok else 401)
                        self.end_headers()
                        self.wfile.write(body)
                http.server.HTTPServer(("127.0.0.1", 4602), H).serve_forever()
                PY
                systemd-run --quiet --unit ws-state -p DynamicUser=yes python3 /srv/state/serve.py
                for _ in $(seq 1 40); do curl -sS -m 2 -o /dev/null http://127.0.0.1:4602/ && break; sleep 0.25; done
                {{HostWorld.SiteCommand(snapshotUrl: "http://127.0.0.1:4602/state")}}
                rm -f /home/brw/.local/state/workstation/playwright-snapshot
                systemctl restart playwright-mcp@brw.service
                """);
            // Before any refresh: an empty state, passed from the start. The server's own start
            // writes it, after `systemctl restart` returns (Type=simple): waited for, in seconds,
            // since a loaded machine (the other shards' boxes) may be slow to get there.
            Assert.Equal("""{"cookies":[],"origins":[]}""", (await box.ScriptAsync(
                "f=/home/brw/.local/state/workstation/playwright-snapshot; timeout 30 sh -c 'until [ -e \"$1\" ]; do sleep 0.2; done' sh \"$f\" || true; cat \"$f\"")).Trim());

            await box.MustAsync("systemctl start playwright-snapshot-refresh@brw.service", timeout: TimeSpan.FromSeconds(60));
            Assert.Contains("from-refresh-1", await box.ScriptAsync("cat /home/brw/.local/state/workstation/playwright-snapshot"), StringComparison.Ordinal);
            var pid = (await box.MustAsync("systemctl show -p MainPID --value playwright-mcp@brw.service")).Stdout.Trim();
            var browsed = await box.ScriptAsync(Session + "\n" + WaitForServer + "\nmcp_session 1 cookie.html\n", TimeSpan.FromSeconds(120));
            Assert.Contains("cookie:ws_state=from-refresh-1", browsed, StringComparison.Ordinal);
            Assert.Equal(pid, (await box.MustAsync("systemctl show -p MainPID --value playwright-mcp@brw.service")).Stdout.Trim());

            // The server now wants another token, and holds a newer state: the fetch is refused, the last state kept.
            await box.ScriptAsync($"printf '%s' other-token > /srv/state/token; printf '%s' '{State("from-refresh-2")}' > /srv/state/state.json");
            var refused = await box.RunAsync("systemctl start playwright-snapshot-refresh@brw.service", timeout: TimeSpan.FromSeconds(60));
            Assert.NotEqual(0, refused.ExitCode);
            var kept = await box.ScriptAsync("cat /home/brw/.local/state/workstation/playwright-snapshot; echo; journalctl -u playwright-snapshot-refresh@brw.service -n 30 --no-pager -o cat");
            Assert.Contains("from-refresh-1", kept, StringComparison.Ordinal);
            Assert.DoesNotContain("from-refresh-2", kept, StringComparison.Ordinal);
            Assert.Contains("could not fetch the snapshot from http://127.0.0.1:4602/state", kept, StringComparison.Ordinal);
            Assert.DoesNotContain(Brw.Token, kept, StringComparison.Ordinal);
        }
        finally
        {
            await box.RunAsync("systemctl stop ws-pages ws-state; systemctl reset-failed playwright-snapshot-refresh@brw.service; rm -rf /srv/pages /srv/state; " +
                "rm -f /home/brw/.local/state/workstation/playwright-snapshot; " + HostWorld.SiteCommand() + "; systemctl restart playwright-mcp@brw.service");
        }
    }
}

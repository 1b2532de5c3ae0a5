namespace Host.Tests;

/// <summary>
/// Per-port access control on loopback, played as real users in the sandbox (its own network
/// namespace: nothing here reaches this machine's firewall). Ada is the victim, Ben another
/// onboarded person, t3-edge the site's edge account. Their t3 "server" is a small HTTP server
/// answering "t3 of USER", so a connection that gets through says whose it reached.
/// </summary>
[Collection(SandboxCollection2.Name)]
public sealed class FirewallTests(SandboxFixture box)
{
    private static readonly TestUser Ada = new("ada", 2141, 4141, 4241);
    private static readonly TestUser Ben = new("ben", 2142, 4142, 4242);
    private static readonly TestUser Cal = new("cal", 2143, 4143, 4243);
    private const string Edge = "t3-edge";

    internal const string FakeT3 =
        "node -e 'require(\"http\").createServer((q, r) => r.end(\"t3 of \" + process.env.USER + \"\\n\")).listen(+process.env.T3_PORT, \"127.0.0.1\")'";

    /// <summary>
    /// try_as USER URL [CURL ARGS]: one line "code=N body=…" for what USER got: curl's exit code
    /// (7: refused at connect, 28: timed out) and the first line of the answer.
    /// </summary>
    private const string Probe = """
        try_as() {
          local user=$1 url=$2 out rc
          shift 2
          out=$(runuser -u "$user" -- curl -sS -m 3 "$@" "$url" 2>/dev/null) && rc=0 || rc=$?
          echo "code=$rc body=$(head -n 1 <<<"$out" | cut -c1-80)"
        }
        mcp_init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"probe","version":"1"}}}'
        mcp() { # USER PORT [HOST HEADER]
          try_as "$1" "http://127.0.0.1:$2/mcp" -X POST -H "Host: ${3:-127.0.0.1:$2}" -H 'Content-Type: application/json' \
            -H 'Accept: application/json, text/event-stream' -d "$mcp_init"
        }
        wait_listening() { # PORT...: until each answers its owner (services take a moment to start)
          local p
          for p in "$@"; do
            for _ in $(seq 1 100); do
              grep -q "^ *[0-9]*: 0100007F:$(printf '%04X' "$p") 00000000:0000 0A" /proc/net/tcp && break
              sleep 0.1
            done
          done
        }
        """;

    private async Task OnboardAsync(bool edge, params TestUser[] users)
    {
        await HostWorld.ReadyAsync(box);
        await box.ScriptAsync($"getent passwd {Edge} >/dev/null || useradd -r -s /usr/sbin/nologin {Edge}");
        await box.MustAsync(HostWorld.SiteCommand(t3Command: FakeT3, edgeUser: edge ? Edge : null));
        foreach (var u in users) await box.MustAsync(u.Apply(), stdin: u.TokenStdin);
        // An earlier test may have started their t3 with another command: this one answers on the port.
        await box.MustAsync("systemctl restart " + string.Join(' ', users.Select(u => $"t3-serve@{u.Name}.service")));
        await box.ScriptAsync(Probe + "\nwait_listening " + string.Join(' ', users.SelectMany(u => new[] { u.T3Port, u.PlaywrightPort })));
    }

    /// <summary>
    /// Onboards Ada and Ben with the answering t3 (and the edge account when <paramref name="edge"/>),
    /// runs <paramref name="script"/> after the probe helpers, and puts the default site back.
    /// </summary>
    private async Task<Dictionary<string, string>> ProbeAsync(bool edge, string script)
    {
        try
        {
            await OnboardAsync(edge, Ada, Ben);
            return OnboardingTests.Facts(await box.ScriptAsync(Probe + "\n" + script));
        }
        finally
        {
            await box.MustAsync(HostWorld.SiteCommand());
        }
    }

    [Fact]
    public async Task Only_the_owner_reaches_their_playwright_and_t3_ports_whatever_host_header_others_send()
    {
        var f = await ProbeAsync(edge: false, """
                echo "ada_pw=$(mcp ada 4241)"
                echo "ada_t3=$(try_as ada http://127.0.0.1:4141/)"
                echo "ben_pw=$(mcp ben 4241)"
                echo "ben_pw_forged_host=$(mcp ben 4241 localhost:4241)"
                echo "ben_t3=$(try_as ben http://127.0.0.1:4141/)"
                echo "ben_t3_localhost=$(try_as ben http://localhost:4141/)"
                echo "root_pw=$(mcp root 4241 localhost:4241)"
                echo "ben_own_pw=$(mcp ben 4242)"
                """);
        // The owner gets the real servers.
        Assert.StartsWith("code=0 body=event: message", f["ada_pw"], StringComparison.Ordinal);
        Assert.Equal("code=0 body=t3 of ada", f["ada_t3"]);
        Assert.StartsWith("code=0 body=event: message", f["ben_own_pw"], StringComparison.Ordinal);
        // Anyone else is refused at connect time (curl exit 7), whatever Host header they forge.
        FactAssert.Equal(f,
            ("ben_pw_forged_host", "code=7 body="),
            ("ben_pw", "code=7 body="),
            ("ben_t3", "code=7 body="),
            ("ben_t3_localhost", "code=7 body="),
            ("root_pw", "code=7 body="));
    }

    /// <summary>The edge routes people to their t3: it reaches t3 ports, never a playwright port.</summary>
    [Fact]
    public async Task The_edge_account_reaches_t3_ports_but_no_playwright_port()
    {
        var f = await ProbeAsync(edge: true, $$"""
                echo "edge_t3_ada=$(try_as {{Edge}} http://127.0.0.1:4141/)"
                echo "edge_t3_ben=$(try_as {{Edge}} http://127.0.0.1:4142/)"
                echo "edge_pw=$(mcp {{Edge}} 4241 localhost:4241)"
                echo "ben_t3=$(try_as ben http://127.0.0.1:4141/)"
                """);
        FactAssert.Equal(f,
            ("edge_t3_ada", "code=0 body=t3 of ada"),
            ("edge_t3_ben", "code=0 body=t3 of ben"),
            ("edge_pw", "code=7 body="),
            ("ben_t3", "code=7 body="));
    }

    /// <summary>
    /// Playwright MCP 0.0.76 stops on an unauthenticated POST /killkillkill, after which anyone could
    /// bind the port and answer the victim's own Claude. Ben can't reach the endpoint; and when Ada's
    /// server is down anyway (stopped here by root, as a crash would), Ben can bind the port but his
    /// listener can never answer Ada: not a byte of hers reaches it.
    /// </summary>
    [Fact]
    public async Task Another_user_can_neither_stop_a_users_playwright_nor_stand_in_for_it()
    {
        var f = await ProbeAsync(edge: false, """
                pid() { systemctl show -p MainPID --value playwright-mcp@ada.service; }
                before=$(pid)
                echo "kill=$(try_as ben http://127.0.0.1:4241/killkillkill -X POST -H 'Host: localhost:4241' -H 'x-pw-mcp-kill: 1')"
                sleep 1
                [ "$(pid)" = "$before" ] && echo "same_pid=yes" || echo "same_pid=no"

                systemctl stop playwright-mcp@ada.service
                rm -f /tmp/impostor.log /tmp/impostor.ready
                runuser -u ben -- node -e '
                  const fs = require("fs");
                  require("net").createServer(s => {
                    s.on("data", d => fs.appendFileSync("/tmp/impostor.log", d));
                    s.end("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nimpostor\n");
                  }).listen(4241, "127.0.0.1", () => fs.writeFileSync("/tmp/impostor.ready", "1"));
                  setTimeout(() => process.exit(0), 20000);' impostor-4241 &
                for _ in $(seq 1 100); do [ -e /tmp/impostor.ready ] && break; sleep 0.1; done
                echo "squatted=$(cat /tmp/impostor.ready 2>/dev/null || echo no)"
                echo "ada_to_squatter=$(mcp ada 4241)"
                echo "impostor_heard=$(cat /tmp/impostor.log 2>/dev/null | wc -c)"
                pkill -KILL -f impostor-4241 || true
                wait 2>/dev/null || true
                systemctl start playwright-mcp@ada.service
                wait_listening 4241
                echo "back=$(mcp ada 4241)"
                """);
        FactAssert.Equal(f,
            ("kill", "code=7 body="),
            ("same_pid", "yes"),
            ("squatted", "1")); // binding is not prevented; answering is
        Assert.DoesNotContain("impostor", f["ada_to_squatter"], StringComparison.Ordinal);
        Assert.NotEqual("code=0", f["ada_to_squatter"][..6]);
        Assert.Equal("0", f["impostor_heard"]);
        Assert.StartsWith("code=0 body=event: message", f["back"], StringComparison.Ordinal);
    }

    /// <summary>
    /// Removing a person (suspend) removes their rules and nobody else's; the ruleset lives in a
    /// table of its own, and a table that is not ours is left exactly as it was.
    /// </summary>
    [Fact]
    public async Task Removing_a_user_removes_their_rules_and_no_other_table_is_touched()
    {
        await HostWorld.ReadyAsync(box);
        await box.ScriptAsync("""
            nft list table inet not-ours >/dev/null 2>&1 || nft -f - <<'EOF'
            table inet not-ours {
              chain input { type filter hook input priority 10; policy accept; tcp dport 9 counter accept; }
            }
            EOF
            """);
        var foreign = await box.ScriptAsync("nft list table inet not-ours");
        await box.MustAsync(Ada.Apply(), stdin: Ada.TokenStdin);
        await box.MustAsync(Cal.Apply(), stdin: Cal.TokenStdin);

        var elements = """
            for s in owners clients; do
              echo "$s=$(nft -j list set inet workstation "$s" | jq -r '[.nftables[].set.elem? // empty | .[] | .concat | "\(.[0]).\(.[1])"] | sort | join(" ")')"
            done

            """ + $"echo \"cal_check=$({Cal.FirewallCheck()} >/dev/null 2>&1 && echo guarded || echo unguarded)\"\n";
        static string[] Set(Dictionary<string, string> facts, string name) => facts[name].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var before = OnboardingTests.Facts(await box.ScriptAsync(elements));
        Assert.Contains("4143.2143", Set(before, "owners"));
        Assert.Contains("4243.2143", Set(before, "owners"));
        Assert.Contains("4243.2143", Set(before, "clients"));
        Assert.Equal("guarded", before["cal_check"]);

        await box.MustAsync(Cal.Suspend());
        var after = OnboardingTests.Facts(await box.ScriptAsync(elements));
        Assert.Equal("unguarded", after["cal_check"]);
        // Cal's elements are gone; everyone else's are exactly as they were.
        foreach (var set in new[] { "owners", "clients" })
        {
            Assert.DoesNotContain(Set(after, set), e => e.EndsWith(".2143", StringComparison.Ordinal));
            Assert.Equal(Set(before, set).Where(e => !e.EndsWith(".2143", StringComparison.Ordinal)), Set(after, set));
        }
        Assert.Contains("4241.2141", Set(after, "owners"));

        Assert.Equal(foreign, await box.ScriptAsync("nft list table inet not-ours"));
        var again = await box.MustAsync(HostCommands.Manual.FirewallApply);
        Assert.Empty(again.Changes());
        await box.MustAsync("nft delete table inet not-ours");
    }

    /// <summary>
    /// After a reboot the table is gone until the boot-time unit loads it, and a user service never
    /// starts with its port unguarded: it checks first, and is ordered after the loader.
    /// </summary>
    [Fact]
    public async Task At_boot_the_rules_are_loaded_before_user_services_and_no_service_starts_unguarded()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Ada.Apply(), stdin: Ada.TokenStdin);
        var f = OnboardingTests.Facts(await box.ScriptAsync("""
            set -uo pipefail
            units="playwright-mcp@ada.service t3-serve@ada.service"
            # The rules flushed behind our back (the loader has run, so nothing reloads them):
            # the service refuses to start rather than listen unguarded.
            systemctl stop playwright-mcp@ada.service
            nft delete table inet workstation
            systemctl start playwright-mcp@ada.service 2>/dev/null && echo "unguarded_start=started" || echo "unguarded_start=refused"
            echo "table_after_refusal=$(nft list table inet workstation >/dev/null 2>&1 && echo present || echo absent)"
            systemctl reset-failed playwright-mcp@ada.service
            # What a reboot leaves: no table, no run state, nothing running; then boot: a new
            # manager reads every unit and link afresh (re-executed here, as LifecycleTests' boot
            # does: the services step enables without a reload), and the target pulls in every
            # enabled unit.
            systemctl stop $units workstation-firewall.service
            nft delete table inet workstation 2>/dev/null
            rm -rf /run/workstation
            systemctl daemon-reexec
            systemctl start multi-user.target
            for _ in $(seq 1 100); do systemctl is-active --quiet $units && break; sleep 0.1; done
            echo "active=$(systemctl is-active workstation-firewall.service $units | paste -sd,)"
            echo "table=$(nft list table inet workstation >/dev/null 2>&1 && echo present || echo absent)"
            fw=$(systemctl show -p ActiveEnterTimestampMonotonic --value workstation-firewall.service)
            for u in $units; do
              start=$(systemctl show -p ExecMainStartTimestampMonotonic --value "$u")
              echo "${u%%@*}_after_firewall=$([ "$start" -gt "$fw" ] && echo yes || echo no)"
            done
            """));
        FactAssert.Equal(f,
            ("unguarded_start", "refused"),
            ("table_after_refusal", "absent"),
            ("active", "active,active,active"),
            ("table", "present"),
            ("playwright-mcp_after_firewall", "yes"),
            ("t3-serve_after_firewall", "yes"));
    }
}

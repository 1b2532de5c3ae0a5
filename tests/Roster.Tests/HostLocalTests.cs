using System.Collections.Concurrent;
using Host.Tests;

namespace Workstation.Roster.Tests;

/// <summary>
/// The host layer's pure parts, tested without a box (issue 26 §5): argument checking, and what
/// the map and firewall steps render. Each runs the repository's host/ bash locally, unprivileged
/// (<see cref="HostBash"/>); the box tests keep what needs a real system (writes, units, nft).
/// </summary>
public class HostLocalTests
{
    /// <summary>
    /// Every hostile command (HostileCli.Commands: every argument of every command) exits 2 naming
    /// a bad argument, and never echoes a credential. The CLI runs as nobody: a value that got past
    /// the checks would reach require_root and exit 1, so exit 2 means the command was refused
    /// before anything ran as root; an injected command would create the canary, which nobody
    /// may write.
    /// </summary>
    [Fact]
    public void Hostile_arguments_exit_2_with_no_side_effect()
    {
        var dir = Directory.CreateTempSubdirectory("ws-hostile-");
        try
        {
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir.FullName, (UnixFileMode)0b1_111_111_111); // 1777: nobody could write the canary
            var canary = Path.Combine(dir.FullName, "pwned");
            var commands = HostileCli.Commands(canary);
            Assert.True(commands.Count > 200, $"only {commands.Count} hostile commands");
            var failures = new ConcurrentBag<string>();
            Parallel.ForEach(commands, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, command =>
            {
                var r = HostBash.Cli(command);
                if (r.ExitCode != 2 || !r.Stderr.Contains("bad argument", StringComparison.Ordinal))
                    failures.Add($"`{command}`\n{r}");
                else if ((r.Stdout + r.Stderr).Contains("SeCrEt-T0k", StringComparison.Ordinal))
                    failures.Add($"`{command}` echoed the credential:\n{r}");
            });
            Assert.True(failures.IsEmpty, string.Join("\n\n", failures));
            Assert.False(File.Exists(canary), "a hostile value ran a command");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The sweep can fail: a valid command gets past the checks and stops at require_root (exit 1).</summary>
    [Fact]
    public void A_valid_command_run_unprivileged_gets_past_the_checks_to_require_root()
    {
        var r = HostBash.Cli(HostileCli.Apply("hostile", "power-user", 4160, 4260));
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("must run as root", r.Stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// `maps apply` with its writes replaced by a print: "== PATH MODE OWNER" then the content, for
    /// each file it would write (everything else it prints is dropped).
    /// </summary>
    private static string RenderMaps(IEnumerable<string> entries)
    {
        var r = HostBash.Lib(["maps.sh"], """
            require_root() { :; }
            lock() { :; }
            ensure_dir() { :; }
            write_shared() { printf '== %s %s %s\n%s' "$1" "$2" "$3" "$4"; }
            cmd_maps_apply "$@" | grep -v '^workstation: '
            """, entries);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout;
    }

    private static DerivedUser Entry(string osUser, string authentikUser, int t3) =>
        Derivation.Derive(new Person(osUser, authentikUser, osUser, null, Tier.PowerUser, [], new Dictionary<string, string>(),
            new Ports(t3, t3 + 5000), null, false, [], false), RosterSettings.Default);

    /// <summary>The entries of a maps command line (what follows `maps apply`).</summary>
    private static string[] MapsArgs(IEnumerable<DerivedUser> users) =>
        HostCommands.Maps(users)[(HostCommands.Cli + " maps apply ").Length..].Split(' ');

    /// <summary>(Moved from the box's MapsTests.) Exact bytes, computed here independently: sorted by authentik user in byte order.</summary>
    [Fact]
    public void Maps_are_deterministic_sorted_by_authentik_user_and_drop_removed_users()
    {
        DerivedUser[] three = [Entry("wiz", "wiz.admin", 3773), Entry("alice", "alice.a", 3774), Entry("bob", "Bob.b", 3775)];
        var first = RenderMaps(MapsArgs(three));
        Assert.Equal(
            "== /etc/ttyd-user-map 0644 root:root\n" +
            "Bob.b bob\nalice.a alice\nwiz.admin wiz\n" +
            "== /etc/t3-serve/dispatch.json 0644 root:root\n" +
            "{\n" +
            "  \"Bob.b\": {\n    \"os_user\": \"bob\",\n    \"port\": 3775\n  },\n" +
            "  \"alice.a\": {\n    \"os_user\": \"alice\",\n    \"port\": 3774\n  },\n" +
            "  \"wiz.admin\": {\n    \"os_user\": \"wiz\",\n    \"port\": 3773\n  }\n" +
            "}\n",
            first);

        // The same roster in another order (one the program never sends: it sorts by os_user): the same bytes.
        Assert.Equal(first, RenderMaps(["bob:Bob.b:3775", "wiz:wiz.admin:3773", "alice:alice.a:3774"]));

        // alice leaves the roster: gone from both maps.
        Assert.Equal(
            "== /etc/ttyd-user-map 0644 root:root\n" +
            "Bob.b bob\nwiz.admin wiz\n" +
            "== /etc/t3-serve/dispatch.json 0644 root:root\n" +
            "{\n" +
            "  \"Bob.b\": {\n    \"os_user\": \"bob\",\n    \"port\": 3775\n  },\n" +
            "  \"wiz.admin\": {\n    \"os_user\": \"wiz\",\n    \"port\": 3773\n  }\n" +
            "}\n",
            RenderMaps(MapsArgs([three[0], three[2]])));
    }

    /// <summary>An empty roster renders empty maps: no ttyd line, and an empty JSON object.</summary>
    [Fact]
    public void No_one_in_the_roster_renders_empty_maps()
    {
        Assert.Equal("== /etc/ttyd-user-map 0644 root:root\n== /etc/t3-serve/dispatch.json 0644 root:root\n{}\n", RenderMaps([]));
    }

    /// <summary>
    /// render_ruleset with the edge account and the pending restarts given: every member's two
    /// ports, owned and reachable by their uid alone, the edge account a client of t3 ports only,
    /// and a pending restart's old port guarded like the live one.
    /// </summary>
    [Fact]
    public void The_ruleset_admits_each_owner_the_edge_account_to_t3_only_and_guards_a_pending_old_port()
    {
        var r = HostBash.Lib(["firewall.sh"], """
            test_edge="$1" test_pending="$2"
            edge_uid() { printf '%s' "$test_edge"; }
            pending_guards() { printf '%s\n' "$test_pending"; }
            render_ruleset "$3"
            """, ["1500", "bob 2002 playwright 4299", "alice 2001 4101 4201\nbob 2002 4102 4202"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Stdout.Split('\n');
        string Elements(string set) =>
            lines.SkipWhile(l => l != $"\tset {set} {{").Skip(2).First().Trim();
        Assert.Equal("elements = { 4101, 4102, 4201, 4202, 4299 }", Elements("service_ports"));
        Assert.Equal("elements = { 4101 . 2001, 4102 . 2002, 4201 . 2001, 4202 . 2002, 4299 . 2002 }", Elements("owners"));
        Assert.Equal("elements = { 4101 . 1500, 4101 . 2001, 4102 . 1500, 4102 . 2002, 4201 . 2001, 4202 . 2002, 4299 . 2002 }", Elements("clients"));
        Assert.Contains("\t\ttcp dport @service_ports tcp dport . meta skuid != @clients reject with tcp reset", lines);
        Assert.Contains("\t\ttcp sport @service_ports tcp sport . meta skuid != @owners reject with tcp reset", lines);
        // Loaded whole: our one table, replaced atomically.
        Assert.Equal(["table inet workstation", "delete table inet workstation", "table inet workstation {"], lines[2..5]);
    }

    /// <summary>No member at all: the sets carry no elements line (nft refuses "{ }"), and the table still loads.</summary>
    [Fact]
    public void An_empty_ruleset_has_sets_without_elements()
    {
        var r = HostBash.Lib(["firewall.sh"], """
            edge_uid() { :; }
            pending_guards() { :; }
            render_ruleset ""
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.DoesNotContain("elements", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("\tset clients {\n\t\ttypeof tcp dport . meta skuid\n\t}\n", r.Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// The idle threshold (site.env RESTART_IDLE_MINUTES): minutes times 60, one to four digits
    /// (a leading zero is not octal); anything else, or nothing, is the default of 20 minutes.
    /// </summary>
    [Theory]
    [InlineData("", 1200)]
    [InlineData("0", 0)]
    [InlineData("1", 60)]
    [InlineData("08", 480)]
    [InlineData("9999", 599940)]
    [InlineData("10000", 1200)]
    [InlineData("-1", 1200)]
    [InlineData("5m", 1200)]
    public void The_idle_threshold_is_the_sites_minutes_or_twenty(string minutes, int seconds)
    {
        var r = HostBash.Lib(["idle.sh"], """
            declare -A SITE=([RESTART_IDLE_MINUTES]="$1")
            restart_idle_seconds
            """, [minutes]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal($"{seconds}\n", r.Stdout);
    }

    /// <summary>
    /// user_status_json for a name with no account: every field there, absent ones null or empty
    /// (the shape `roster drift` reads), and nothing more is looked at.
    /// </summary>
    [Fact]
    public void The_status_of_a_name_without_an_account_is_absent_with_every_field_empty()
    {
        var r = HostBash.Lib(["account.sh", "idle.sh", "firewall.sh", "user.sh", "status.sh"], """
            getent() { return 2; }
            user_status_json ws-no-such-person
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(
            """{"user":"ws-no-such-person","state":"absent","tier":null,"uid":null,"home":null,"home_mode":null,"groups":[],"firewall":"n/a","units":[],"cut":null,"cut_at":null,"restart_pending":[],"drift":[],"external_bindings":[],"playwright_entry":null}""" + "\n",
            r.Stdout);
    }

    /// <summary>The bindings record read back as JSON: a RoleBinding with its namespace, a ClusterRoleBinding, and any other line dropped.</summary>
    [Fact]
    public void The_bindings_record_reads_back_as_external_bindings_and_ignores_other_lines()
    {
        var r = HostBash.Lib(["account.sh"], """
            record=$(mktemp)
            trap 'rm -f "$record"' EXIT
            printf '%s\n' 'RoleBinding plotting-book oidc-ns-owner-anca' 'ClusterRoleBinding view-all' 'RoleBinding only-two' 'Other a b' '' >"$record"
            bindings_file() { printf '%s' "$record"; }
            bindings_json anca
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(
            """[{"kind":"RoleBinding","namespace":"plotting-book","name":"oidc-ns-owner-anca"},{"kind":"ClusterRoleBinding","name":"view-all"}]""" + "\n",
            r.Stdout);
    }

    /// <summary>
    /// `workstation status` (every managed person; here none) reports the kernel's ptrace scope as
    /// ptrace_scope reads it, in the JSON and in the text form: this machine's kernel, whatever it
    /// says ("absent" without Yama). HardeningTests checks ptrace_scope on the box's own kernel.
    /// </summary>
    [Theory]
    [InlineData("--json")]
    [InlineData("")]
    public void Status_reports_the_kernels_ptrace_scope(string form)
    {
        var kernel = File.Exists("/proc/sys/kernel/yama/ptrace_scope") ? File.ReadAllText("/proc/sys/kernel/yama/ptrace_scope").Trim() : "absent";
        var r = HostBash.Lib(["cli.sh", "site.sh", "account.sh", "idle.sh", "firewall.sh", "base.sh", "user.sh", "status.sh"], """
            require_root() { :; }
            load_site() { :; }
            getent() { [[ "$1" == group ]] && printf '%s:x:999:\n' "$2"; }
            cmd_status "$@"
            """, form.Length > 0 ? [form] : []);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(form == "--json" ? $$"""{"people":[],"ptrace_scope":"{{kernel}}"}""" + "\n" : $"kernel.yama.ptrace_scope: {kernel}\n", r.Stdout);
    }
    /// <summary>
    /// The PSI metrics read each pressure file once (issue 26 §8): its lines give both the avg10
    /// gauges and the stalled-seconds counters, in the exposition's order. The memory file is a FIFO
    /// written once, so a second read of it would block (and the run time out); io's lines carry no
    /// values (0 and 0.000000), and a resource without a file (cpu) has no lines.
    /// </summary>
    [Fact]
    public void Psi_metrics_read_each_pressure_file_once_into_the_avg10_gauges_and_the_stalled_seconds_counters()
    {
        var r = HostBash.Lib(["pressure.sh"], """
            dir=$(mktemp -d)
            mkfifo "$dir/memory"
            # The writer and the watchdog hold none of this run's output (the harness reads it to the end).
            { printf 'some avg10=1.25 avg60=0.50 avg300=0.10 total=123456789\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=42\n' >"$dir/memory"; } >/dev/null 2>&1 &
            writer=$!
            # A second open of the FIFO would block: this run ends in 5 s whatever happens.
            { sleep 5 && kill -TERM $$; } >/dev/null 2>&1 &
            watchdog=$!
            trap 'kill "$writer" "$watchdog" 2>/dev/null; rm -rf "$dir"' EXIT
            printf 'some avg60=3.00\nfull\n' >"$dir/io"
            psi_metrics "$dir"
            """, seconds: 20);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("""
            # HELP workstation_pressure_avg10_percent Share of the last 10 s in which tasks stalled on the resource (PSI).
            # TYPE workstation_pressure_avg10_percent gauge
            workstation_pressure_avg10_percent{resource="memory",kind="some"} 1.25
            workstation_pressure_avg10_percent{resource="memory",kind="full"} 0.00
            workstation_pressure_avg10_percent{resource="io",kind="some"} 0
            workstation_pressure_avg10_percent{resource="io",kind="full"} 0
            # HELP workstation_pressure_stalled_seconds_total Time in which tasks stalled on the resource (PSI total).
            # TYPE workstation_pressure_stalled_seconds_total counter
            workstation_pressure_stalled_seconds_total{resource="memory",kind="some"} 123.456789
            workstation_pressure_stalled_seconds_total{resource="memory",kind="full"} 0.000042
            workstation_pressure_stalled_seconds_total{resource="io",kind="some"} 0.000000
            workstation_pressure_stalled_seconds_total{resource="io",kind="full"} 0.000000

            """.ReplaceLineEndings("\n"), r.Stdout);
    }

    /// <summary>
    /// The status JSON of an active person (user_status_json, cut_json, person_json), with every
    /// function that reaches the machine replaced by a stand-in: each field there, with its type,
    /// read from what the stand-ins say (the shape `roster drift` and `user status` read).
    /// </summary>
    [Fact]
    public void The_status_of_an_active_person_carries_every_field_with_its_type()
    {
        var r = HostBash.Lib(["account.sh", "idle.sh", "firewall.sh", "home.sh", "services.sh", "user.sh", "status.sh"], """
            dir=$(mktemp -d)
            trap 'rm -rf "$dir"' EXIT
            mkdir -m 0750 "$dir/home"
            printf 'TIER=power-user\nGROUPS=docker\n' >"$dir/record"
            printf 'T3_PORT=4710\n' >"$dir/t3.env"
            printf 'PLAYWRIGHT_PORT=4811\n' >"$dir/playwright.env"
            printf 'RoleBinding plotting-book oidc-ns-owner-anca\n' >"$dir/bindings"
            getent() {
              case "$1 ${2:-}" in
                "passwd anca") printf 'anca:x:30001:30001::%s:/bin/bash\n' "$dir/home" ;;
                "passwd ") printf 'root:x:0:0::/root:/bin/bash\nanca:x:30001:30001::%s:/bin/bash\n' "$dir/home" ;;
                *) return 2 ;;
              esac
            }
            has_marker() { [[ "$1" == anca ]]; }
            is_suspended() { return 1; }
            id() { if [[ "$1" == -u ]]; then echo 30001; else echo 'anca workstation docker'; fi; }
            user_record_file() { printf '%s/record' "$dir"; }
            user_path() {
              case "$1" in
                "$WS_T3_ENV_FILE") printf '%s/t3.env' "$dir" ;;
                "$WS_PLAYWRIGHT_ENV_FILE") printf '%s/playwright.env' "$dir" ;;
                *) printf "$1" "$2" ;;
              esac
            }
            cmd_firewall_check() { [[ "$1" == anca ]]; }
            drift_lines() { echo 'group docker granted docker, but anca is not in it'; }
            expiry_days() { echo; }
            lock_status() { echo P; }
            person_procs() { printf '101 anca\n102 anca\n'; }
            pending_units() { echo 't3-serve@anca.service'; }
            atq() { printf '7\tMon Dec  7 10:00:00 2026 a anca\n8\tMon Dec  7 10:00:00 2026 a bob\n'; }
            systemctl() {
              case "$1" in
                is-enabled) echo enabled ;;
                is-active) [[ "$2" == *.timer ]] && echo inactive || echo active ;;
                show) printf 'MemoryHigh=3221225472\nMemoryMax=infinity\nCPUWeight=100\nTasksMax=4096\n' ;;
                *) return 1 ;;
              esac
            }
            bindings_file() { printf '%s/bindings' "$dir"; }
            read_playwright_entry() { echo 'entry {"type":"http","url":"http://127.0.0.1:4810/mcp"}'; }
            recorded_playwright_entry() { printf '%s' '{"type":"http","url":"http://127.0.0.1:4810/mcp"}'; }
            person_json anca "$(printf '4710 30001\n4811 0\n')"
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = System.Text.Json.JsonDocument.Parse(r.Stdout);
        var p = doc.RootElement;
        var home = p.GetProperty("home").GetString()!;
        Assert.EndsWith("/home", home, StringComparison.Ordinal);
        Assert.Equal(
            $$$$""""{"user":"anca","state":"active","tier":"power-user","uid":30001,"home":"{{{{home}}}}","home_mode":"750","groups":["anca","docker","workstation"],"firewall":"guarded","units":[{"unit":"playwright-mcp@anca.service","enabled":"enabled","active":"active"},{"unit":"playwright-snapshot-refresh@anca.timer","enabled":"enabled","active":"inactive"},{"unit":"t3-serve@anca.service","enabled":"enabled","active":"active"}],"cut":{"password_login":"allowed","ssh_key_login":"allowed","processes":2,"units_off":false,"maps":"absent","cron_jobs":0,"at_jobs":1,"jobs_run":"allowed","holds":false},"cut_at":null,"restart_pending":["t3-serve@anca.service"],"drift":[{"kind":"group","value":"docker","detail":"granted docker, but anca is not in it"}],"external_bindings":[{"kind":"RoleBinding","namespace":"plotting-book","name":"oidc-ns-owner-anca"}],"playwright_entry":{"state":"ours","server_port":4811,"port":4810},"ports":{"t3":4710,"playwright":4811},"listening":{"t3":["anca"],"playwright":["root"]},"maps":{"ttyd":null,"dispatch":null},"budget":{"services":{"memory_high":"3221225472","memory_max":"infinity","cpu_weight":"100","tasks_max":"4096"},"logins":{"memory_high":"3221225472","memory_max":"infinity","cpu_weight":"100","tasks_max":"4096"}}}"""",
            r.Stdout.TrimEnd('\n'));
        // The types a reader relies on, whatever the values.
        Assert.Equal(System.Text.Json.JsonValueKind.Number, p.GetProperty("uid").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Number, p.GetProperty("cut").GetProperty("processes").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.False, p.GetProperty("cut").GetProperty("holds").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Number, p.GetProperty("ports").GetProperty("playwright").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Array, p.GetProperty("listening").GetProperty("t3").ValueKind);
    }
}

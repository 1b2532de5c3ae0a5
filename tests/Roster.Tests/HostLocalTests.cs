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

    /// <summary>
    /// A set's elements: by port, then uid, as numbers (9 before 10), each once; the largest
    /// port and uid (65535, 4294967295) in order.
    /// </summary>
    [Fact]
    public void Set_elements_are_ordered_by_port_then_uid_and_listed_once()
    {
        var stdout = HostBash.LibStdout(["firewall.sh"], """
            nft_elements "10 . 5" "65535 . 4294967295" "9 . 7" "10 . 4" "10 . 4" "65535 . 0" "10"
            nft_elements 4202 4101 4101 99
            nft_elements
            """);
        Assert.Equal(
            "\t\telements = { 9 . 7, 10, 10 . 4, 10 . 5, 65535 . 0, 65535 . 4294967295 }\n" +
            "\t\telements = { 99, 4101, 4202 }\n", stdout);
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
    /// The cuts that undo what an account holds: with no account there is nothing to undo (a
    /// notice, exit 0); an account without the marker group is refused (exit 3), never touched.
    /// </summary>
    [Theory]
    [InlineData("cmd_user_suspend", "nothing to suspend")]
    [InlineData("cmd_user_services_stop", "no services to stop")]
    [InlineData("cmd_user_secrets_remove", "no secrets to remove")]
    public void A_cut_of_a_missing_account_is_a_notice_and_of_an_unmanaged_one_is_refused(string command, string nothing)
    {
        BashResult Run(string passwd) => HostBash.Lib(["cli.sh", "secrets.sh", "user.sh"], $$"""
            require_root() { :; }
            load_site() { return 1; }
            secrets_record_file() { echo /nonexistent/record; }
            getent() { {{passwd}}; }
            has_marker() { return 1; }
            lock() { echo "locked: a step ran"; exit 9; }
            {{command}} anca
            """);
        Assert.Equal(new BashResult(0, $"workstation: notice: no account anca; {nothing}\n", ""), Run("return 2"));
        Assert.Equal(new BashResult(3, "", "workstation: refused: account anca is not managed (no 'workstation' group)\n"),
            Run("printf 'anca:x:30001:30001::/home/anca:/bin/bash\\n'"));
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
            """{"user":"ws-no-such-person","state":"absent","tier":null,"uid":null,"home":null,"home_mode":null,"groups":[],"firewall":"n/a","units":[],"cut":null,"cut_at":null,"restart_pending":[],"drift":[],"external_bindings":[],"playwright_entry":null,"last_login":null}""" + "\n",
            r.Stdout);
    }

    /// <summary>
    /// file_equals (the no-op test of every file a step writes, as root or in a person's own run)
    /// holds only for the same bytes: a copy padded with NULs, one with a NUL inside, one of the
    /// same size with another byte, or a link to the right bytes is a difference; a 64 GiB sparse
    /// file that starts with the right bytes answers at once, not after reading it.
    /// </summary>
    [Fact]
    public void File_equals_holds_only_for_the_same_bytes_and_answers_a_sparse_file_at_once()
    {
        var r = HostBash.Lib([], """
            d=$(mktemp -d)
            trap 'rm -rf "$d"' EXIT
            want=$'export VAULT_ADDR=https://vault.example\n'
            t() { if file_equals "$d/$1" "$want"; then echo "$1=same"; else echo "$1=differs"; fi; }
            printf '%s' "$want" >"$d/exact"
            { printf '%s' "$want"; printf '\0\0\0'; } >"$d/padded"
            printf 'export\0VAULT_ADDR=https://vault.example\n' >"$d/inner"
            printf 'export VAULT_ADDR=https://vault.examplf\n' >"$d/other"
            ln -s exact "$d/link"
            printf '%s' "$want" >"$d/sparse" && truncate -s 64G "$d/sparse"
            for f in exact padded inner other link sparse missing; do t "$f"; done
            """, seconds: 10);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("exact=same\npadded=differs\ninner=differs\nother=differs\nlink=differs\nsparse=differs\nmissing=differs\n", r.Stdout);
    }

    /// <summary>
    /// subid_ranges (what the process sweeps count as a person's subordinate ids): the person's
    /// lines by name or uid, each start above 65535 (65535 is not, 65536 is), a count of at least
    /// 1, numbers of at most 10 digits (11 is refused), exactly three fields; another person's
    /// line never; a last line without its newline still read.
    /// </summary>
    [Fact]
    public void Subordinate_ranges_are_the_persons_own_lines_wholly_above_the_login_ids()
    {
        var stdout = HostBash.LibStdout(["account.sh"], """
            f=$(mktemp)
            trap 'rm -f "$f"' EXIT
            printf '%s\n' anca:65535:10 anca:65536:0 anca:65536:1 2500:0100000:65536 anca:9999999999:2 \
              anca:10000000000:2 anca:200000:5:x bob:300000:65536 anca:-1:5 'anca: 400000:5' >"$f"
            printf 'anca:500000:7' >>"$f"
            subid_ranges anca 2500 "$f"
            subid_ranges nobody-here 1 /nonexistent/file
            """);
        Assert.Equal("65536 1\n100000 65536\n9999999999 2\n500000 7\n", stdout);
    }

    /// <summary>
    /// The connection record's ports, read from nft's JSON without jq: the listed elements, none
    /// for an empty set, a failure for a listing that is no set (so the step updates it); and
    /// compared with the ports wanted as sets (order and repeats aside, one more or one fewer differs).
    /// </summary>
    [Fact]
    public void The_connection_records_ports_are_read_from_nfts_json_and_compared_as_sets()
    {
        var stdout = HostBash.LibStdout(["firewall.sh"], """
            meta='{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}, '
            nft() { printf '%s' "$JSON"; }
            for JSON in "$meta"'{"set": {"family": "inet", "name": "ports", "table": "t", "type": "inet_service", "handle": 2, "elem": [25001, 20001, 20002]}}]}' \
              "$meta"'{"set": {"family": "inet", "name": "ports", "table": "t", "type": "inet_service", "handle": 1}}]}' \
              "$meta"'{"table": {"family": "inet", "name": "t"}}]}'; do
              if got=$(audit_record_ports); then echo "ports=[$got]"; else echo "ports=failed"; fi
            done
            t() { if same_members "$1" "$2"; then echo "$1~$2=same"; else echo "$1~$2=differs"; fi; }
            t 25001,20001,20002 20001,20002,25001
            t 20001,20001,20002 20001,20002
            t 20001,20002 20001,20002,25001
            t 20001,20002,25001 20001,20002
            t 20001,20003 20001,20002
            t '' ''
            t '' 20001
            """);
        Assert.Equal("""
            ports=[25001,20001,20002]
            ports=[]
            ports=failed
            25001,20001,20002~20001,20002,25001=same
            20001,20001,20002~20001,20002=same
            20001,20002~20001,20002,25001=differs
            20001,20002,25001~20001,20002=differs
            20001,20003~20001,20002=differs
            ~=same
            ~20001=differs

            """, stdout);
    }

    /// <summary>
    /// A unit's fingerprint (what decides a pending restart) hashes its inputs with one sha256sum
    /// for all the files, and is byte for byte the one hashed file by file: an upgrade restarts
    /// no one. Checked with a file, a repeat, an absent one, site.env's command, an empty file,
    /// and a name sha256sum would escape (a backslash), which is hashed on its own.
    /// </summary>
    [Fact]
    public void A_units_fingerprint_is_the_same_as_hashing_each_input_on_its_own()
    {
        var stdout = HostBash.LibStdout(["services.sh"], """
            d=$(mktemp -d)
            trap 'rm -rf "$d"' EXIT
            printf 'ExecStart=/bin/true\n' >"$d/unit"
            printf 'T3_PORT=4101\n' >"$d/env"
            : >"$d/empty"
            printf 'a\n' >"$d/back\\slash"
            site_get() { printf '%s' "/usr/bin/t3 --port \${T3_PORT}"; }
            # The fingerprint as it was: one sha256sum a file.
            one_by_one() {
              local f
              while IFS= read -r f; do
                [[ -n "$f" ]] || continue
                printf '%s ' "$f"
                if [[ "$f" == "$WS_SITE_ENV" ]]; then site_get T3_COMMAND | sha256sum
                elif [[ -f "$f" ]]; then sha256sum <"$f"
                else echo absent; fi
              done < <(unit_inputs "$@") | sha256sum | cut -d' ' -f1
            }
            for set in "unit env unit empty" "unit gone env" "unit back\\slash env" "env"; do
              unit_inputs() { local n; for n in $set; do printf '%s\n' "$d/$n"; done; printf '%s\n' "$WS_SITE_ENV"; }
              a=$(unit_fingerprint x) b=$(one_by_one x)
              [[ "$a" =~ ^[0-9a-f]{64}$ && "$a" == "$b" ]] && echo same || echo "differs: $set"
            done
            # And it changes when a file's bytes do.
            unit_inputs() { printf '%s\n' "$d/unit" "$d/env"; }
            before=$(unit_fingerprint x)
            printf 'T3_PORT=4102\n' >"$d/env"
            [[ "$(unit_fingerprint x)" != "$before" ]] && echo moved || echo stuck
            """);
        Assert.Equal("same\nsame\nsame\nsame\nmoved\n", stdout);
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

    /// <summary>Journal entries as `journalctl -o json` prints them: one JSON object a line.</summary>
    private static string Entry(long usec, string uid, string id, object message, string? person = null, string? step = null) =>
        System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["__REALTIME_TIMESTAMP"] = usec.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["_UID"] = uid,
            ["SYSLOG_IDENTIFIER"] = id,
            ["MESSAGE"] = message,
            ["WORKSTATION_USER"] = person,
            ["WORKSTATION_STEP"] = step,
            ["WORKSTATION_RESULT"] = step is null ? null : "changed",
            ["WORKSTATION_EXIT"] = step is null ? null : "0",
        }.Where(kv => kv.Value is not null).ToDictionary()) + "\n";

    /// <summary>
    /// The audit counts a journal line only when a root process wrote it (journald's _UID, which the
    /// sender can't choose; for sudo, which logs under who ran it, the person's own uid too) and it
    /// names the person where sshd and sudo put the name: a person's own `logger -t sshd`, another
    /// person's sudo-looking line, someone else's login (ada's name inside adam's), a failed password, sudo's
    /// other lines, and a message journalctl prints as bytes are all left out.
    /// </summary>
    [Fact]
    public void Audit_reads_only_root_journal_lines_that_name_the_person()
    {
        var journal =
            Entry(1_000_000, "0", "sshd", "Accepted publickey for ada from 10.0.0.7 port 40022 ssh2: ED25519 SHA256:x") +
            Entry(2_000_000, "2720", "sshd", "Accepted password for ada from 6.6.6.6 port 1 ssh2") + // forged by a person
            Entry(3_000_000, "0", "sshd", "Accepted publickey for adam from 10.0.0.8 port 40023 ssh2") +
            Entry(4_000_000, "0", "sshd", "Failed password for ada from 10.0.0.9 port 40024 ssh2") +
            Entry(5_000_000, "0", "sshd", "pam_unix(sshd:session): session closed for user ada") +
            Entry(5_500_000, "0", "sshd", "pam_unix(sshd:session): session closed for user adam") +
            Entry(6_000_000, "0", "sudo", "     ada : PWD=/home/ada ; USER=root ; COMMAND=/usr/bin/true") +
            Entry(6_500_000, "0", "sudo", "     ada : unable to resolve host box: Name or service not known") +
            Entry(7_000_000, "0", "sudo", "    adam : PWD=/ ; USER=root ; COMMAND=/usr/bin/id") +
            Entry(7_200_000, "2720", "sudo", "     ada : PWD=/ ; USER=root ; COMMAND=/usr/bin/id") + // sudo logs as who ran it
            Entry(7_500_000, "2721", "sudo", "     ada : PWD=/ ; USER=root ; COMMAND=/forged") + // by another person
            Entry(8_000_000, "0", "sudo", new[] { 1, 2, 3 }) +
            Entry(9_000_000, "0", "workstation", "user account apply ada: changed (exit 0)", "ada", "user account apply") +
            Entry(9_500_000, "0", "workstation", "user account apply adam: changed (exit 0)", "adam", "user account apply") +
            Entry(9_700_000, "2720", "workstation", "user suspend ada: changed (exit 0)", "ada", "user suspend");
        var r = HostBash.Lib(["audit.sh"], """
            audit_ssh_events ada <<<"$1"
            audit_sudo_events ada 2720 <<<"$1"
            audit_step_events ada <<<"$1"
            """, [journal]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("""
            {"usec":1000000,"kind":"ssh-login","detail":"from 10.0.0.7 port 40022 (publickey)"}
            {"usec":5000000,"kind":"ssh-logout","detail":"session closed"}
            {"usec":6000000,"kind":"sudo","detail":"PWD=/home/ada ; USER=root ; COMMAND=/usr/bin/true"}
            {"usec":7200000,"kind":"sudo","detail":"PWD=/ ; USER=root ; COMMAND=/usr/bin/id"}
            {"usec":9000000,"kind":"step","detail":"user account apply: changed (exit 0)"}

            """.ReplaceLineEndings("\n"), r.Stdout);
    }

    /// <summary>
    /// Each element of the kernel's connection record is one connection, dated from its expiry
    /// (now - (timeout - expires), to the millisecond nft prints): those to the person's t3 port are t3 sessions, to their
    /// playwright port MCP sessions, named with who made them; other ports and older ones are not.
    /// </summary>
    [Fact]
    public void Audit_dates_each_recorded_connection_from_its_expiry_and_names_who_made_it()
    {
        const string set = """
            table inet workstation_audit {
            	set connections {
            		typeof tcp dport . meta skuid . tcp sport
            		size 65536
            		flags dynamic,timeout
            		timeout 7d
            		elements = { 6020 . 2720 . 50001 expires 6d23h58m20s,
            			     6120 . 2720 . 50002 expires 6d23h59m50s250ms,
            			     6021 . 2721 . 50003 expires 6d23h59m55s, 6020 . 999 . 50004 expires 6d23h59m59s999ms,
            			     6020 . 2720 . 50005 expires 16m40s }
            	}
            }
            """;
        var r = HostBash.Lib(["audit.sh"], """audit_connection_events 6020 6120 2000000000000 1999999000 $'2720 ada\n2721 bob' <<<"$1" """, [set]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("""
            {"usec":1999999900000000,"kind":"t3","detail":"port 6020, from ada (uid 2720) port 50001"}
            {"usec":1999999990250000,"kind":"mcp","detail":"port 6120, from ada (uid 2720) port 50002"}
            {"usec":1999999999999000,"kind":"t3","detail":"port 6020, from uid 999 (uid 999) port 50004"}

            """.ReplaceLineEndings("\n"), r.Stdout);
    }

    /// <summary>
    /// The audit's output is in time order: with --json an array of exactly {time, kind, detail}
    /// (UTC, ISO 8601), else a table whose details can't start a line of their own.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public void Audit_prints_its_events_in_time_order_as_a_table_or_a_json_array(int json)
    {
        const string events = """
            {"usec":1796666299000000,"kind":"t3","detail":"port 6020"}
            {"usec":1796666200500000,"kind":"ssh-login","detail":"from 10.0.0.7\nforged line"}
            """;
        var r = HostBash.Lib(["audit.sh"], """audit_render "$1" <<<"$2" """, [json.ToString(System.Globalization.CultureInfo.InvariantCulture), events]);
        Assert.True(r.ExitCode == 0, r.ToString());
        if (json == 1)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(r.Stdout);
            var items = doc.RootElement.EnumerateArray().ToList();
            Assert.Equal(2, items.Count);
            Assert.All(items, i => Assert.Equal(["time", "kind", "detail"], i.EnumerateObject().Select(p => p.Name)));
            Assert.Equal(["2026-12-07T17:56:40Z", "2026-12-07T17:58:19Z"], items.Select(i => i.GetProperty("time").GetString()));
            Assert.Equal(["ssh-login", "t3"], items.Select(i => i.GetProperty("kind").GetString()));
        }
        else
        {
            Assert.Equal("""
                TIME                 KIND       DETAIL
                2026-12-07T17:56:40Z ssh-login  from 10.0.0.7?forged line
                2026-12-07T17:58:19Z t3         port 6020

                """.ReplaceLineEndings("\n"), r.Stdout);
        }
    }

    /// <summary>
    /// --since takes what journalctl takes, read by systemd's own parser; anything else exits 2
    /// naming the value before anything is read (unprivileged, a good value gets as far as
    /// require_root).
    /// </summary>
    [Theory]
    [InlineData("not a time", 2)]
    [InlineData("-7d;id", 2)]
    [InlineData("--output=cat", 2)]
    [InlineData("-7d", 1)]
    [InlineData("2026-12-01 08:00:00", 1)]
    [InlineData("yesterday", 1)]
    public void Audit_reads_since_as_journalctl_does_and_refuses_anything_else_with_exit_2(string since, int code)
    {
        var r = HostBash.Cli(HostCommands.Manual.Audit("ada", since));
        Assert.True(r.ExitCode == code, r.ToString());
        if (code == 2) Assert.Contains($"bad argument: --since {since.Replace(";", "\\;", StringComparison.Ordinal).Replace(" ", "\\ ", StringComparison.Ordinal)}", r.Stderr, StringComparison.Ordinal);
        else Assert.Contains("must run as root", r.Stderr, StringComparison.Ordinal);
    }

    /// <summary>
    /// The one journal line a run writes for the person it acted on: the verb, ok or changed (any
    /// `changed:` line), or failed with its exit code and the step it stopped at.
    /// </summary>
    [Fact]
    public void A_run_on_a_person_journals_the_verb_its_result_and_exit_code()
    {
        var r = HostBash.Lib([], """
            WS_PERSON=ada WS_VERB="user code apply"
            journal_step_fields 0; echo --
            changed "something" >/dev/null
            journal_step_fields 0; echo --
            step $'cloning\nFORGED=1'
            journal_step_fields 3
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        var parts = r.Stdout.Split("--\n");
        Assert.Equal("""
            MESSAGE=user code apply ada: ok (exit 0)
            SYSLOG_IDENTIFIER=workstation
            PRIORITY=6
            WORKSTATION_USER=ada
            WORKSTATION_STEP=user code apply
            WORKSTATION_RESULT=ok
            WORKSTATION_EXIT=0

            """.ReplaceLineEndings("\n"), parts[0]);
        Assert.Contains("WORKSTATION_RESULT=changed\n", parts[1], StringComparison.Ordinal);
        Assert.Contains("MESSAGE=user code apply ada: failed (exit 3)\n", parts[2], StringComparison.Ordinal);
        Assert.Contains("PRIORITY=4\n", parts[2], StringComparison.Ordinal);
        Assert.EndsWith("WORKSTATION_EXIT=3\nWORKSTATION_FAILED_AT=cloning FORGED=1\n", parts[2], StringComparison.Ordinal);
    }

    /// <summary>A person's status as `user status` reads it for the table (status_table_json's shape), with EDIT applied (jq).</summary>
    private static BashResult StatusText(string edit) => HostBash.Lib(["status.sh"], """
        jq -c "$1" <<<'{"user":"alice","state":"active","tier":"power-user","uid":2740,"home":"/home/alice","home_mode":"750","groups":["alice","workstation"],
          "firewall":"guarded","units":[{"unit":"playwright-mcp@alice.service","enabled":"enabled","active":"active"},{"unit":"t3-serve@alice.service","enabled":"enabled","active":"failed"}],
          "cut":{"password_login":"allowed","ssh_key_login":"allowed","processes":2,"units_off":false,"maps":"present","cron_jobs":0,"at_jobs":0,"jobs_run":"allowed","holds":false},
          "cut_at":null,"restart_pending":[],"drift":[],"external_bindings":[],"playwright_entry":{"state":"ours","port":6140,"server_port":6140},
          "last_login":"2026-12-07T17:56:13Z","ports":{"t3":6040,"playwright":6140},"listening":{"t3":["alice"],"playwright":[]},
          "maps":{"ttyd":"alice","dispatch":null},
          "budget":{"services":{"memory_high":"2147483648","memory_max":"3221225472","cpu_weight":"100","tasks_max":"512"},
                    "logins":{"memory_high":"infinity","memory_max":"infinity","cpu_weight":"[not set]","tasks_max":"1000"}},
          "secrets":["repo-token","snapshot-token"],"memory":{"services":"125829120","logins":"[not set]"}}' | status_text
        """, [edit]);

    /// <summary>
    /// `user status` without --json reads as a short table: state and tier, the last login, the
    /// ports and who listens, the units, memory against the budget, the secrets' names, the
    /// firewall, pending restarts and drift; an active person shows no cut probe at all.
    /// </summary>
    [Fact]
    public void The_text_status_of_an_active_person_is_a_table_without_cut_probes()
    {
        var r = StatusText(".");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("""
            alice: active, tier power-user
              last login: 2026-12-07T17:56:13Z
              t3 port: 6040, listening: alice
              playwright port: 6140, nobody listens
              unit playwright-mcp@alice.service: enabled, active
              unit t3-serve@alice.service: enabled, failed
              memory (services): 120 MiB in use; high 2 GiB, max 3 GiB
              memory (logins): not counted in use; high infinity, max infinity
              secrets: repo-token, snapshot-token
              firewall: guarded
              restart pending: none
              drift: none

            """, r.Stdout);
        var busy = StatusText("""
            .last_login = null | .restart_pending = ["t3-serve@alice.service"] | .secrets = [] |
            .drift = [{"kind": "home-mode", "value": "755", "detail": "home /home/alice is mode 755"}] | .listening.playwright = ["bob"] |
            .budget.logins.memory_max = "18446744073709551615" | .memory.logins = "1536"
            """);
        Assert.True(busy.ExitCode == 0, busy.ToString());
        foreach (var line in new[] { "  last login: none recorded", "  restart pending: t3-serve@alice.service (until its person is idle)",
                     "  secrets: none", "  drift: home /home/alice is mode 755", "  playwright port: 6140, listening: bob",
                     "  memory (logins): 1 KiB in use; high infinity, max infinity" })
            Assert.Contains("\n" + line + "\n", busy.Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// A cut person's table ends with the cut probes, each worded as what it finds ("password
    /// login refused"), and whether the cut holds; a probe that finds the person not out says so.
    /// </summary>
    [Fact]
    public void The_text_status_of_a_cut_person_words_each_probe_as_what_it_finds()
    {
        var r = StatusText("""
            .state = "suspended" | .cut_at = "2026-12-07T18:00:00Z" | .firewall = "n/a" | .playwright_entry = null |
            .cut = {"password_login":"refused","ssh_key_login":"refused","processes":0,"units_off":true,"maps":"absent","cron_jobs":0,"at_jobs":0,"jobs_run":"refused","holds":true} |
            .external_bindings = [{"kind":"RoleBinding","namespace":"team-b","name":"owners-alice"}]
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.EndsWith("""
              restart pending: none
              drift: none
              cut: password login refused
              cut: SSH key login refused
              cut: no process left
              cut: every unit stopped and disabled
              cut: in neither map
              cut: cron and at jobs refused
              cut: the cut holds
              still to remove by hand in the stack that owns it: RoleBinding owners-alice in team-b

            """, r.Stdout, StringComparison.Ordinal);
        Assert.Contains("\n  cut at: 2026-12-07T18:00:00Z\n", r.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("firewall", r.Stdout, StringComparison.Ordinal);

        var leaky = StatusText(""".state = "suspended" | .cut.password_login = "refused" | .cut.cron_jobs = 2""");
        foreach (var line in new[] { "  cut: password login refused", "  cut: SSH key login allowed", "  cut: 2 process(es) left", "  cut: a unit still runs or is enabled",
                     "  cut: still in a map", "  cut: cron and at jobs allowed (2 cron and 0 at job(s) left in the spools)", "  cut: the cut does NOT hold on every probe above" })
            Assert.Contains("\n" + line + "\n", leaky.Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// What `workstation me` can't read (root's records) is null in its JSON, and the table says
    /// so instead of claiming "none"; a name without the marker group is one line.
    /// </summary>
    [Fact]
    public void The_text_status_says_which_facts_the_reader_may_not_read()
    {
        var r = StatusText(".firewall = null | .cut = null | .restart_pending = null | .drift = null | .secrets = null | .external_bindings = null | .playwright_entry = null");
        Assert.True(r.ExitCode == 0, r.ToString());
        foreach (var line in new[] { "  secrets: not readable as you", "  restart pending: not readable as you", "  drift: not readable as you" })
            Assert.Contains("\n" + line, r.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("firewall", r.Stdout, StringComparison.Ordinal);
        var unmanaged = StatusText("""{user: "bob", state: "unmanaged", tier: null}""");
        Assert.Equal("bob: unmanaged\n", unmanaged.Stdout);
    }

    /// <summary>
    /// `workstation me` runs without root (here as nobody, whom it reports as unmanaged) and takes
    /// no word that could name someone else: any argument exits 2 before anything is read.
    /// </summary>
    [Theory]
    [InlineData("", 0, "nobody: unmanaged\n")]
    [InlineData(" --json", 0, "")]
    [InlineData(" alice", 2, "")]
    [InlineData(" --json alice", 2, "")]
    [InlineData(" -- alice", 2, "")]
    public void Me_runs_as_the_caller_and_takes_no_other_persons_name(string words, int exit, string stdout)
    {
        var r = HostBash.Cli(HostCommands.Cli + " me" + words);
        Assert.True(r.ExitCode == exit, r.ToString());
        if (exit == 2) Assert.Equal(("", true), (r.Stdout, r.Stderr.Contains("usage: workstation me [--json]", StringComparison.Ordinal)));
        else if (words.Length == 0) Assert.Equal(stdout, r.Stdout);
        else Assert.StartsWith("""{"user":"nobody","state":"unmanaged",""", r.Stdout, StringComparison.Ordinal);
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
            last_login() { echo 2026-12-07T09:15:00Z; }
            memory_json() { echo '{"services":"1048576","logins":"[not set]"}'; }
            person_json anca "$(printf '4710 30001\n4811 0\n')"
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = System.Text.Json.JsonDocument.Parse(r.Stdout);
        var p = doc.RootElement;
        var home = p.GetProperty("home").GetString()!;
        Assert.EndsWith("/home", home, StringComparison.Ordinal);
        Assert.Equal(
            $$$$""""{"user":"anca","state":"active","tier":"power-user","uid":30001,"home":"{{{{home}}}}","home_mode":"750","groups":["anca","docker","workstation"],"firewall":"guarded","units":[{"unit":"playwright-mcp@anca.service","enabled":"enabled","active":"active"},{"unit":"playwright-snapshot-refresh@anca.timer","enabled":"enabled","active":"inactive"},{"unit":"t3-serve@anca.service","enabled":"enabled","active":"active"}],"cut":{"password_login":"allowed","ssh_key_login":"allowed","processes":2,"units_off":false,"maps":"absent","cron_jobs":0,"at_jobs":1,"jobs_run":"allowed","holds":false},"cut_at":null,"restart_pending":["t3-serve@anca.service"],"drift":[{"kind":"group","value":"docker","detail":"granted docker, but anca is not in it"}],"external_bindings":[{"kind":"RoleBinding","namespace":"plotting-book","name":"oidc-ns-owner-anca"}],"playwright_entry":{"state":"ours","server_port":4811,"port":4810},"last_login":"2026-12-07T09:15:00Z","ports":{"t3":4710,"playwright":4811},"listening":{"t3":["anca"],"playwright":["root"]},"maps":{"ttyd":null,"dispatch":null},"budget":{"services":{"memory_high":"3221225472","memory_max":"infinity","cpu_weight":"100","tasks_max":"4096"},"logins":{"memory_high":"3221225472","memory_max":"infinity","cpu_weight":"100","tasks_max":"4096"}},"memory_current":1048576}"""",
            r.Stdout.TrimEnd('\n'));
        // The types a reader relies on, whatever the values.
        Assert.Equal(System.Text.Json.JsonValueKind.Number, p.GetProperty("uid").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Number, p.GetProperty("cut").GetProperty("processes").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.False, p.GetProperty("cut").GetProperty("holds").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Number, p.GetProperty("ports").GetProperty("playwright").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Array, p.GetProperty("listening").GetProperty("t3").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.String, p.GetProperty("last_login").ValueKind);
        // What `roster place --report` reads from it (host and engine agree on the field).
        using var report = System.Text.Json.JsonDocument.Parse("""{"hosts":{"devvm":{"people":[""" + r.Stdout.TrimEnd('\n') + "]}}}");
        var (measured, why) = Placement.MeasuredFrom(report.RootElement);
        Assert.True(why is null, why);
        Assert.Equal(1048576, measured!["devvm"]);
    }

    /// <summary>
    /// A run as the person that systemd ends itself (the unit's own time limit, a signal, no
    /// resources) makes systemd-run exit 1 and, with --quiet, say nothing: the account step's
    /// kubeconfig then ended "(exit 1) at kubeconfig" and no more (MoveTests' resume, once, under
    /// load). Whether it is the run that asks if the file is there or the one that asks what it
    /// is, the step now fails naming the file, what it asked and why, and systemd's result. Here
    /// systemd-run is played by a function (everything else of as_user is the host's own):
    /// the runs named end as systemd reports a unit stopped at its RuntimeMaxSec (or, ":124", as
    /// the command's own deadline ends it), the others find a regular file there.
    /// </summary>
    [Theory]
    [InlineData("*", "could not tell whether {0}/.kube/config is there: the run as nobody failed (exit 1)")]
    [InlineData("kind", "could not tell what {0}/.kube/config is: the run as nobody failed (exit 1)")]
    [InlineData("kind:124", "could not tell what {0}/.kube/config is: the run as nobody failed (timed out after 60s)")]
    public void A_run_as_the_person_that_systemd_ends_fails_the_kubeconfig_step_naming_the_file_and_why(string ended, string message)
    {
        var r = HostBash.Lib(["home.sh"], """
            ended="${1%:124}" scratch=$(mktemp -d) ENDED_BY=systemd
            [[ "$1" != *:124 ]] || ENDED_BY=timeout
            trap 'rm -rf "$scratch"' EXIT
            ensure_run_dir() { :; }
            ensure_root_dir() { :; }
            mktemp() { command mktemp -d "$scratch/run.XXXXXX"; }
            systemd-run() {
              local quiet=0 out=""
              while (($#)) && [[ "$1" != -- ]]; do
                case "$1" in --quiet) quiet=1 ;; StandardOutput=file:*) out="${1#StandardOutput=file:}" ;; esac
                shift
              done
              if [[ "$ended" == '*' || " $* " == *" $ended "* ]] && [[ "$ENDED_BY" == timeout ]]; then
                ((quiet)) || printf '%s\n' "Running as unit: workstation-as_nobody_1_2.service" "Finished with result: exit-code" \
                  "Main processes terminated with: code=exited/status=124" "Service runtime: 1min 5.002s" >&2
                return 124
              elif [[ "$ended" == '*' || " $* " == *" $ended "* ]]; then
                ((quiet)) || printf '%s\n' "Running as unit: workstation-as_nobody_1_2.service" "Finished with result: timeout" \
                  "Main processes terminated with: code=killed/status=TERM" "Service runtime: 1min 10.002s" >&2
                return 1
              fi
              [[ " $* " != *" kind "* ]] || echo regular >"$out"
              ((quiet)) || printf '%s\n' "Running as unit: workstation-as_nobody_1_2.service" "Finished with result: success" >&2
            }
            echo "$scratch"
            ensure_kubeconfig nobody "$scratch" oidc
            """, [ended]);
        Assert.True(r.ExitCode == 1, r.ToString());
        var home = r.Stdout.Trim();
        Assert.Contains("workstation: error: " + string.Format(System.Globalization.CultureInfo.InvariantCulture, message, home), r.Stderr, StringComparison.Ordinal);
        // systemd's own ending is named too; the command's own timeout (exit 124) is systemd's "exit-code".
        Assert.Equal(!ended.EndsWith(":124", StringComparison.Ordinal), r.Stderr.Contains("before it finished (result: timeout)", StringComparison.Ordinal));
    }

    /// <summary>
    /// A fact of `as-user.sh in-place` that does not hold is an answer (exit 1 and the fact's
    /// number), not a failure: nothing on stderr. It printed "workstation: error: failed (exit 1)
    /// at start", which reached the step's output: the account step's at every first
    /// onboarding (no ~/.kube/config yet), and the code step's before every first clone.
    /// </summary>
    [Fact]
    public void A_fact_that_does_not_hold_is_an_answer_not_an_error()
    {
        var r = HostBash.Lib([], """
            bash "$1" in-place there /nonexistent/x || echo "rc=$?"
            bash "$1" in-place there / && echo "rc=0"
            """, [HostBash.LibFile("as-user.sh")]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("1\nrc=1\nrc=0\n", r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    private const string CouldNotTellCode = "could not tell whether anything is at /home/cl/code: the run as cl failed (exit 1)";

    /// <summary>The answers to the code step's check of ~/code: the step's exit, and what it says.</summary>
    public static TheoryData<string, int, string> CodeCheckAnswers => new()
    {
        { "yes", 0, "" },
        { "no", 0, "notice: REPO_URL is empty" },
        { "killed", 1, CouldNotTellCode },
        { "lie", 1, CouldNotTellCode },
    };

    /// <summary>
    /// The code step asks, as the person, whether anything is at ~/code, and clones only when
    /// nothing is. A run that can't tell (systemd ended it, or it printed something other than
    /// the fact's number) ends the step and says so: read as "nothing there", it made the step
    /// clone beside a ~/code it had never looked at. Here a "no" reaches the clone (the empty
    /// repository URL's notice), a "yes" leaves it at that.
    /// </summary>
    [Theory]
    [MemberData(nameof(CodeCheckAnswers))]
    public void A_code_step_clones_only_on_a_no_it_was_told(string answer, int exit, string said)
    {
        var r = HostBash.Lib(["home.sh"], """
            scratch=$(mktemp -d)
            trap 'rm -rf "$scratch"' EXIT
            ensure_root_dir() { :; }
            mktemp() { command mktemp -d "$scratch/run.XXXXXX"; }
            site_get() { echo; }
            # systemd-run as it ends for each answer to a check of ~/code.
            systemd-run() {
              local a out=""
              for a in "$@"; do [[ "$a" != StandardOutput=file:* ]] || out="${a#StandardOutput=file:}"; done
              [[ " $* " == *" /home/cl/code "* ]] || return 0
              case "$answer" in
                yes) : >"$out" ;;
                no) [[ " $* " != *" in-place "* ]] || echo 1 >"$out"; return 1 ;;
                killed) printf '%s\n' "Finished with result: signal" "Main processes terminated with: code=killed/status=KILL" >&2; return 1 ;;
                lie) echo yes >"$out"; return 1 ;;
              esac
            }
            answer=$1
            ensure_code_clone cl /home/cl
            echo finished
            """, [answer]);
        Assert.True(r.ExitCode == exit, r.ToString());
        Assert.Equal(exit == 0, r.Stdout.EndsWith("finished\n", StringComparison.Ordinal));
        if (said.Length == 0) Assert.True(r.Stdout == "finished\n" && r.Stderr.Length == 0, r.ToString());
        else Assert.Contains(said, r.Stdout + r.Stderr);
        Assert.Equal(answer == "killed", r.Stderr.Contains("systemd ended", StringComparison.Ordinal));
    }

    /// <summary>
    /// A check run as the person that says no (exits 1) while systemd still runs its start job:
    /// systemd-run reports a failed job, and none of that reaches the step's output (it did, a
    /// line a check, once systemd-run was no longer --quiet); the caller reads the exit code.
    /// </summary>
    [Fact]
    public void A_check_as_the_person_that_says_no_prints_nothing_of_systemds()
    {
        var r = HostBash.Lib([], """
            scratch=$(mktemp -d)
            trap 'rm -rf "$scratch"' EXIT
            ensure_run_dir() { :; }
            ensure_root_dir() { :; }
            mktemp() { command mktemp -d "$scratch/run.XXXXXX"; }
            systemd-run() {
              printf '%s\n' "Running as unit: workstation-as_nobody_1_2.service" \
                "Job for workstation-as_nobody_1_2.service failed because the control process exited with error code." \
                'See "systemctl status workstation-as_nobody_1_2.service" and "journalctl -xeu workstation-as_nobody_1_2.service" for details.' \
                "Finished with result: exit-code" "Main processes terminated with: code=exited/status=1" >&2
              return 1
            }
            if as_user nobody / test -e /nonexistent; then echo there; else echo "absent $?"; fi
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("absent 1\n", r.Stdout);
        Assert.Equal("", r.Stderr);
    }
}

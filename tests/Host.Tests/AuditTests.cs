
namespace Host.Tests;

/// <summary>
/// Issue 28 §3: `workstation audit USER` answers "what did a person do on the machine?" from the
/// box's own records (sshd's and sudo's journal lines, the kernel's connection record, the one
/// line each verb writes for its person), for root only, and nobody can write a line into
/// someone else's audit.
/// </summary>
[Collection(SandboxCollection3.Name)]
public sealed class AuditTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(60))
{

    private static readonly TestUser Aud = new("aud", 2720, 6020, 6120);
    private static readonly TestUser Audb = new("audb", 2721, 6021, 6121);

    /// <summary>The site's admin as the golden roster has them (AdminTests' own).</summary>
    private static readonly TestUser Wiz = new(HostWorld.Admin, 2000, 3773, 8931, "admin");

    private const string Workstation = "/usr/local/lib/workstation/bin/workstation";

    private sealed record Event(DateTimeOffset Time, string Kind, string Detail);

    /// <summary>`workstation audit USER --since @EPOCH --json`, as root, parsed.</summary>
    private async Task<List<Event>> AuditAsync(string user, long since)
    {
        var r = await box.MustAsync(HostCommands.Manual.Audit(user, $"@{since}"), timeout: Bounded);
        using var doc = JsonDocument.Parse(r.Stdout);
        return [.. doc.RootElement.EnumerateArray().Select(e =>
        {
            Assert.Equal(["time", "kind", "detail"], e.EnumerateObject().Select(p => p.Name));
            return new Event(DateTimeOffset.Parse(e.GetProperty("time").GetString()!, CultureInfo.InvariantCulture),
                e.GetProperty("kind").GetString()!, e.GetProperty("detail").GetString()!);
        })];
    }

    private async Task<long> BoxNowAsync() => long.Parse((await box.ScriptAsync("date +%s")).Trim(), CultureInfo.InvariantCulture);

    /// <summary>A TCP connection as USER to 127.0.0.1:PORT (a t3 session's or an MCP client's first packet); prints connected or refused.</summary>
    private static string Connect(string user, int port) =>
        $"runuser -u {user} -- timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}' 2>/dev/null && echo connected || echo refused";

    [Fact]
    public async Task A_persons_login_t3_and_mcp_sessions_sudo_and_steps_appear_once_in_their_audit_and_nowhere_else()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Wiz.Apply(), stdin: Wiz.TokenStdin);
        var start = await BoxNowAsync();
        await box.MustAsync(Aud.Apply(), stdin: Aud.TokenStdin);
        await box.MustAsync(Audb.Apply(), stdin: Audb.TokenStdin);
        // A step that fails for the person: purge is for a cut person only (refused, exit 3).
        var purge = await box.RunAsync(Aud.Purge(), timeout: Bounded);
        Assert.True(purge.ExitCode == 3, purge.ToString());
        await box.ScriptAsync(HostWorld.AuthorizeLoginKey(Aud.Name));
        try
        {
            var f = OnboardingTests.Facts(await box.ScriptAsync($$"""
                set -euo pipefail
                echo "login=$(ssh -n -i /root/aud_key -p "$(awk '$1 == "Port" { print $2 }' /etc/ssh/sshd_config)" -o BatchMode=yes \
                  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 aud@127.0.0.1 id -un)"
                echo "t3=$({{Connect(Aud.Name, Aud.T3Port)}})"
                echo "mcp=$({{Connect(Aud.Name, Aud.PlaywrightPort)}})"
                # Someone else at aud's t3 port: the firewall refuses it, and it is no session of aud's.
                echo "other_t3=$({{Connect(Audb.Name, Aud.T3Port)}})"
                # A sudo by the admin (a rule of the test's own, gone at the end).
                printf 'wiz ALL=(root) NOPASSWD: /usr/bin/true\n' > /etc/sudoers.d/ws-audit-test
                chmod 0440 /etc/sudoers.d/ws-audit-test
                echo "sudo=$(runuser -u wiz -- sudo -n /usr/bin/true 2>/dev/null && echo ran || echo refused)"
                rm -f /etc/sudoers.d/ws-audit-test
                """, Bounded));
            FactAssert.Equal(f,
                ("login", "aud"),
                ("mcp", "connected"),
                ("other_t3", "refused"),
                ("sudo", "ran"));
            var end = await BoxNowAsync();

            // sshd logs the session's end once the client is gone: wait for it, bounded.
            var events = await AuditAsync(Aud.Name, start);
            for (var i = 0; i < 20 && !events.Any(e => e.Kind == "ssh-logout"); i++)
            {
                await Task.Delay(500);
                events = await AuditAsync(Aud.Name, start);
            }
            var all = string.Join("\n", events);
            Assert.Equal(events.OrderBy(e => e.Time), events);
            void Once(string kind, string detail)
            {
                var hits = events.Where(e => e.Kind == kind && e.Detail.Contains(detail, StringComparison.Ordinal)).ToList();
                Assert.True(hits.Count == 1, $"{kind} '{detail}' appears {hits.Count} times in aud's audit:\n{all}");
                Assert.InRange(hits[0].Time.ToUnixTimeSeconds(), start - 1, end + 20);
            }
            Once("ssh-login", "from 127.0.0.1 port");
            Once("ssh-logout", "session closed");
            Once("t3", $"port {Aud.T3Port}, from aud (uid {Aud.Uid})");
            Once("mcp", $"port {Aud.PlaywrightPort}, from aud (uid {Aud.Uid})");
            Assert.Single(events, e => e.Kind == "t3"); // audb's refused attempt is not there
            Assert.DoesNotContain(events, e => e.Kind == "sudo");
            // The person's own steps, each with its result.
            foreach (var step in new[] { "user account apply", "user code apply", "user services apply", "user secrets apply" })
                Assert.Contains(events, e => e.Detail == $"{step}: changed (exit 0)" || e.Detail == $"{step}: ok (exit 0)");
            foreach (var step in new[] { "user account apply", "user code apply", "user services apply", "user secrets apply" })
                Once("step", $"{step}: "); // changed on a first run, ok on a later one
            Once("step", "user purge: failed (exit 3)");
            Assert.Contains(events, e => e.Kind == "step" && e.Detail.StartsWith("user purge: failed (exit 3), at ", StringComparison.Ordinal));

            // The table says the same, one line per event after its header (a step line more: the audit just run).
            var table = (await box.MustAsync(HostCommands.Manual.Audit(Aud.Name, $"@{start}", json: false), timeout: Bounded)).Stdout
                .Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("TIME                 KIND       DETAIL", table[0]);
            Assert.Equal(events.Count + 2, table.Length);
            Assert.Single(table, l => l.Contains(" ssh-login  from 127.0.0.1 port ", StringComparison.Ordinal));
            // A --since journalctl would not read: exit 2, nothing read.
            var bad = await box.RunAsync(HostCommands.Manual.Audit(Aud.Name, "last tuesday-ish"), timeout: Bounded);
            Assert.True(bad.ExitCode == 2 && bad.Stdout.Length == 0, bad.ToString());
            Assert.Contains("--since last\\ tuesday-ish: not a time journalctl reads", bad.Stderr, StringComparison.Ordinal);

            // The admin's sudo is in the admin's audit, once.
            var wiz = await AuditAsync(HostWorld.Admin, start);
            var sudo = Assert.Single(wiz, e => e.Kind == "sudo");
            Assert.Contains("USER=root ; COMMAND=/usr/bin/true", sudo.Detail, StringComparison.Ordinal);
            Assert.InRange(sudo.Time.ToUnixTimeSeconds(), start - 1, end + 1);

            // A second person's audit holds none of aud's events: only audb's own steps.
            var other = await AuditAsync(Audb.Name, start);
            Assert.True(other.All(e => e.Kind == "step"), string.Join("\n", other));
            Assert.Equal(4, other.Count(e => e.Detail.EndsWith(" (exit 0)", StringComparison.Ordinal)));
        }
        finally
        {
            await box.MustAsync("rm -f /root/aud_key /root/aud_key.pub /home/aud/.ssh/authorized_keys /etc/sudoers.d/ws-audit-test");
        }
    }

    /// <summary>
    /// Attack: a person writes lines into the journal that look like sshd's, sudo's and the
    /// program's own about someone else (journald takes any SYSLOG_IDENTIFIER and field from
    /// anyone), and connects to their own port as if it were someone else's. None of it reaches the
    /// other person's audit, and the person can neither run the audit nor read its records.
    /// </summary>
    [Fact]
    public async Task A_person_can_neither_forge_lines_into_someone_elses_audit_nor_read_it()
    {
        await HostWorld.ReadyAsync(box);
        var start = await BoxNowAsync();
        await box.MustAsync(Aud.Apply(), stdin: Aud.TokenStdin);
        await box.MustAsync(Audb.Apply(), stdin: Audb.TokenStdin);
        var before = await AuditAsync(Audb.Name, start);
        var f = OnboardingTests.Facts(await box.ScriptAsync($$"""
            set -uo pipefail
            as_aud() { runuser -u aud -- timeout 10 "$@"; }
            as_aud logger -t sshd "Accepted publickey for audb from 6.6.6.6 port 1 ssh2: forged"
            as_aud logger -t sshd "pam_unix(sshd:session): session closed for user audb"
            as_aud logger -t sudo "    audb : PWD=/ ; USER=root ; COMMAND=/forged"
            printf '%s\n' 'MESSAGE=forged step of audb' SYSLOG_IDENTIFIER=workstation WORKSTATION_USER=audb WORKSTATION_STEP=forged \
              WORKSTATION_RESULT=changed WORKSTATION_EXIT=0 | as_aud logger --journald
            # What the person can read of the records.
            echo "groups=$(id -nG aud | tr ' ' ,)"
            echo "journal=$(as_aud journalctl -q --no-pager -o cat --since @{{start}} _UID=0 2>/dev/null | wc -l)"
            echo "nft=$(as_aud nft list table inet workstation_audit >/dev/null 2>&1 && echo read || echo refused)"
            r=$(as_aud {{Workstation}} audit audb --json 2>/tmp/aud-audit.err); echo "audit_rc=$? audit_out=${#r}"
            echo "audit_err=$(cat /tmp/aud-audit.err)"; rm -f /tmp/aud-audit.err
            """, Bounded));
        // The forged lines are in the journal (as aud's), and reach no audit.
        var forged = await box.MustAsync($"journalctl -q --no-pager -o cat --since @{start} _UID={Aud.Uid} | grep -c audb");
        Assert.Equal("4", forged.Stdout.Trim());
        // (Each audit writes its own step line, "audit: ok", into the person's audit: root looked.)
        var after = await AuditAsync(Audb.Name, start);
        Assert.True(after.Count(e => !e.Detail.StartsWith("audit: ", StringComparison.Ordinal)) == before.Count(e => !e.Detail.StartsWith("audit: ", StringComparison.Ordinal)),
            "forged lines reached audb's audit:\n" + string.Join("\n", after));
        Assert.DoesNotContain(after, e => e.Detail.Contains("forged", StringComparison.Ordinal) || e.Detail.Contains("6.6.6.6", StringComparison.Ordinal));
        // Not in the groups that read the whole journal; sees no line a root process wrote (their own user journal only); no nft.
        Assert.DoesNotContain("adm", f["groups"].Split(','));
        Assert.DoesNotContain("systemd-journal", f["groups"].Split(','));
        FactAssert.Equal(f,
            ("journal", "0"),
            ("nft", "refused"),
            ("audit_rc", "1 audit_out=0")); // exit 1, nothing printed
        Assert.Contains("must run as root", f["audit_err"], StringComparison.Ordinal);
    }
}

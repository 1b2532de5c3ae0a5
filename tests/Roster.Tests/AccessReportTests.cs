using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Workstation.Roster.Tests;

/// <summary>
/// `roster access-report` over a real git history: each person's grants, the commit that last
/// changed their own entry (by content) with its PR and reviewers, the hosts' live state beside
/// the roster's, the leavers with their cut and the time it took, and a rewritten history reported.
/// </summary>
public sealed class AccessReportTests : IDisposable
{
    private readonly GitRepo _repo = new();
    private readonly DirectoryInfo _files = Directory.CreateTempSubdirectory("roster-report-");

    public void Dispose()
    {
        _repo.Dispose();
        _files.Delete(recursive: true);
    }

    private static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture);

    private static readonly string Alice = TestFiles.User("alice", 3780, 8940);
    private static readonly string Bob = TestFiles.User("bob", 3781, 8941, "namespace-owner", "    namespaces: [team-b]\n    external_bindings: { team-b: owners-bob }\n");
    private static readonly string BobAdminOfMore = TestFiles.User("bob", 3781, 8941, "namespace-owner", "    namespaces: [team-b, team-c]\n    external_bindings: { team-b: owners-bob }\n");
    private const string BobRetired = "retired:\n  bob:\n    uid: 2001\n    authentik_user: bob\n    ports: { t3: 3781, playwright: 8941 }\n    external_bindings: { team-b: owners-bob }\n";

    private static string Roster(params string[] users) => TestFiles.Head + string.Concat(users.Where(u => !u.StartsWith("retired:", StringComparison.Ordinal))) +
        (users.FirstOrDefault(u => u.StartsWith("retired:", StringComparison.Ordinal)) ?? "");

    /// <summary>Three PRs: alice and bob onboarded (#1, GitHub's message), bob's namespaces widened (#2, Forgejo's, reviewed), a comment edit (#3).</summary>
    private void History()
    {
        _repo.MergePr(Roster(Alice, Bob), "onboard", "Merge pull request #1 from team/onboard\n\nOnboard alice and bob", "carol", "dave", At("2026-03-01T10:00:00Z"));
        _repo.MergePr(Roster(Alice, BobAdminOfMore), "bob-c", "Merge pull request 'bob owns team-c' (#2) from bob-c into main\n\nReviewed-on: https://forge.example/team/infra/pulls/2\nReviewed-by: erin <erin@example.test>\n",
            "bob", "frank", At("2026-04-02T11:00:00Z"));
        _repo.MergePr("# who has a workstation\n" + Roster(Alice, BobAdminOfMore), "comment", "Merge pull request #3 from team/comment", "gina", "dave", At("2026-05-03T12:00:00Z"));
    }

    private (int Code, string Out, string Err) Report(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = Cli.Run(["access-report", _repo.Roster, .. args], stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private JsonElement Json(params string[] args)
    {
        var r = Report([.. args, "--format", "json"]);
        Assert.True(r.Code == 0, r.Err);
        return JsonDocument.Parse(r.Out).RootElement.Clone();
    }

    private static JsonElement Person(JsonElement report, string name, string list = "people") =>
        report.GetProperty(list).EnumerateArray().Single(p => p.GetProperty("os_user").GetString() == name);

    private static JsonElement LastChange(JsonElement person) => person.GetProperty("evidence").GetProperty("last_change");

    private string File(string name, string text)
    {
        var path = Path.Combine(_files.FullName, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void The_evidence_is_the_merge_that_last_changed_the_persons_own_entry_with_its_pr_merger_and_reviewers()
    {
        History();
        var report = Json();
        var alice = LastChange(Person(report, "alice"));
        Assert.Equal(1, alice.GetProperty("pr").GetInt32());
        Assert.Equal("dave", alice.GetProperty("author").GetString());
        Assert.True(alice.GetProperty("merge").GetBoolean());
        Assert.Equal("2026-03-01T10:00:00Z", alice.GetProperty("committed").GetString());
        // bob's entry changed again in #2: his evidence moves, alice's doesn't; #3 only added a comment.
        var bob = LastChange(Person(report, "bob"));
        Assert.Equal(2, bob.GetProperty("pr").GetInt32());
        Assert.Equal("frank", bob.GetProperty("author").GetString());
        Assert.Equal(["erin <erin@example.test>"], bob.GetProperty("reviewed_by").EnumerateArray().Select(x => x.GetString()));
        Assert.Equal(_repo.Head(), report.GetProperty("head").GetString());
        Assert.Empty(report.GetProperty("flags").EnumerateArray());

        // The grants, from the evaluator roster diff uses.
        var b = Person(report, "bob");
        Assert.Equal("namespace-owner", b.GetProperty("tier").GetString());
        Assert.Contains(b.GetProperty("kubernetes").EnumerateArray(), k => k.GetString()!.StartsWith("admin (read and write, no RBAC or quota changes) in namespace team-c", StringComparison.Ordinal));
        Assert.Contains(b.GetProperty("vault").EnumerateArray(), v => v.GetString() == "create, delete, patch, read, update on secret/data/users/bob/*");
        Assert.Equal(["RoleBinding owners-bob in namespace team-b"], b.GetProperty("external_bindings").EnumerateArray().Select(x => x.GetString()));
        Assert.Contains("memory-key", Person(report, "alice").GetProperty("secrets").EnumerateArray().Select(x => x.GetString()));
    }

    [Fact]
    public void A_squash_merge_names_its_pr_and_an_uncommitted_edit_is_flagged_as_unreviewed()
    {
        _repo.Commit(Roster(Alice), "Onboard alice (#14)", "carol", At("2026-03-01T10:00:00Z"));
        Assert.Equal(14, LastChange(Person(Json(), "alice")).GetProperty("pr").GetInt32());
        System.IO.File.WriteAllText(_repo.Roster, Roster(TestFiles.User("alice", 3780, 8940, "namespace-owner", "    namespaces: [x]\n")));
        var alice = Person(Json(), "alice");
        Assert.True(alice.GetProperty("evidence").GetProperty("uncommitted").GetBoolean());
        Assert.Contains(alice.GetProperty("flags").EnumerateArray(), f => f.GetString()!.Contains("uncommitted change", StringComparison.Ordinal));
    }

    [Fact]
    public void A_force_push_that_rewrote_an_entrys_history_is_reported_not_hidden()
    {
        History();
        var previous = File("previous.json", Report("--format", "json").Out);
        // The same history again: nothing to report (the check can tell the two apart).
        Assert.Empty(Person(Json("--previous", previous), "bob").GetProperty("flags").EnumerateArray());

        // Rewritten: #2 and #3 dropped and a different bob change pushed in their place, dated back.
        var cited = LastChange(Person(JsonDocument.Parse(System.IO.File.ReadAllText(previous)).RootElement, "bob")).GetProperty("commit").GetString()!;
        _repo.Git("reset", "-q", "--hard", "HEAD~2");
        _repo.MergePr(Roster(Alice, TestFiles.User("bob", 3781, 8941, "power-user")), "quiet", "Merge pull request #2 from team/quiet", "mallory", "mallory", At("2026-04-02T11:00:00Z"));
        var report = Json("--previous", previous);
        var flag = Assert.Single(Person(report, "bob").GetProperty("flags").EnumerateArray()).GetString()!;
        Assert.Contains($"history rewritten: the previous report cited commit {cited[..12]} for this entry; it is no longer in the history of HEAD", flag, StringComparison.Ordinal);
        Assert.Contains(report.GetProperty("flags").EnumerateArray(), f => f.GetString()!.StartsWith("history rewritten: the previous report's HEAD", StringComparison.Ordinal));
        // alice's entry was not rewritten (her merge is still there): no flag for her.
        Assert.Empty(Person(report, "alice").GetProperty("flags").EnumerateArray());
        Assert.Contains("**history rewritten", Report("--previous", previous).Out, StringComparison.Ordinal);
    }

    [Fact]
    public void An_entry_deleted_without_a_tombstone_since_the_previous_report_is_reported()
    {
        History();
        var previous = File("previous.json", Report("--format", "json").Out);
        _repo.MergePr(Roster(Alice), "drop", "Merge pull request #4 from team/drop", "mallory", "mallory", At("2026-06-01T00:00:00Z"));
        Assert.Contains(Json("--previous", previous).GetProperty("flags").EnumerateArray(),
            f => f.GetString() == "bob: in the previous report, now in neither users: nor retired: (an entry deleted without a tombstone)");
    }

    /// <summary>A host's report in step with the roster for alice, bob as given (the shape `workstation status --json` prints).</summary>
    private string Status(string host, JsonObject bob, Action<JsonObject>? alice = null)
    {
        var roster = Derivation.Derive(RosterLoader.LoadFile(_repo.Roster).ModelOrThrow());
        var u = roster.Users.Single(x => x.OsUser == "alice");
        static JsonObject Budget(Budget b) => new()
        {
            ["memory_high"] = b.MemoryHigh.ToString(CultureInfo.InvariantCulture), ["memory_max"] = b.MemoryMax.ToString(CultureInfo.InvariantCulture),
            ["cpu_weight"] = b.CpuWeight.ToString(CultureInfo.InvariantCulture), ["tasks_max"] = b.TasksMax.ToString(CultureInfo.InvariantCulture),
        };
        var a = new JsonObject
        {
            ["user"] = "alice", ["state"] = "active", ["tier"] = "power-user",
            ["groups"] = new JsonArray(u.TierGroups.Append("workstation").Append("alice").Select(g => (JsonNode)g).ToArray()),
            ["units"] = new JsonArray(u.Services.Select(s => (JsonNode)new JsonObject { ["unit"] = s, ["enabled"] = "enabled", ["active"] = "active" }).ToArray()),
            ["ports"] = new JsonObject { ["t3"] = 3780, ["playwright"] = 8940 },
            ["listening"] = new JsonObject { ["t3"] = new JsonArray("alice"), ["playwright"] = new JsonArray("alice") },
            ["maps"] = new JsonObject { ["ttyd"] = "alice", ["dispatch"] = new JsonObject { ["authentik"] = "alice", ["port"] = 3780 } },
            ["drift"] = new JsonArray(),
            ["budget"] = new JsonObject { ["services"] = Budget(u.Budget), ["logins"] = Budget(u.Budget) },
            ["cut"] = new JsonObject { ["password_login"] = "allowed", ["holds"] = false },
            ["cut_at"] = null,
            ["last_login"] = "2026-06-30T08:15:00Z",
        };
        alice?.Invoke(a);
        // wiz, the admin, is not on these hosts: the report says so beside the roster.
        return File(host + ".json", new JsonObject { ["people"] = new JsonArray(a, bob) }.ToJsonString());
    }

    private static JsonObject CutBob(string? cutAt, bool holds) => new()
    {
        ["user"] = "bob", ["state"] = "suspended", ["tier"] = "namespace-owner", ["groups"] = new JsonArray("bob", "workstation"),
        ["cut"] = new JsonObject { ["password_login"] = "refused", ["ssh_key_login"] = "refused", ["processes"] = 0, ["units_off"] = true, ["maps"] = "absent", ["holds"] = holds },
        ["cut_at"] = cutAt,
        ["external_bindings"] = new JsonArray(new JsonObject { ["kind"] = "RoleBinding", ["namespace"] = "team-b", ["name"] = "owners-bob" }),
    };

    [Fact]
    public void A_leaver_is_listed_apart_with_the_retire_merge_each_hosts_cut_the_time_to_revoke_and_what_is_still_held()
    {
        History();
        _repo.MergePr(Roster(Alice, BobRetired), "retire-bob", "Merge pull request #9 from team/retire-bob", "carol", "dave", At("2026-07-01T09:00:00Z"));
        var alpha = Status("alpha", CutBob("2026-07-01T09:04:30Z", holds: true));
        var beta = Status("beta", new JsonObject { ["user"] = "bob", ["state"] = "active", ["tier"] = "namespace-owner", ["groups"] = new JsonArray() });
        var report = Json("--status", alpha, "--status", beta);
        Assert.DoesNotContain(report.GetProperty("people").EnumerateArray(), p => p.GetProperty("os_user").GetString() == "bob");
        var bob = Person(report, "bob", "leavers");
        Assert.Equal("retired", bob.GetProperty("state").GetString());
        Assert.Equal(9, bob.GetProperty("retired").GetProperty("pr").GetInt32());
        Assert.Equal("2026-07-01T09:00:00Z", bob.GetProperty("retired").GetProperty("committed").GetString());
        var ttr = Assert.Single(bob.GetProperty("time_to_revoke").EnumerateArray());
        Assert.Equal("alpha", ttr.GetProperty("host").GetString());
        Assert.Equal(270, ttr.GetProperty("seconds").GetInt64());
        Assert.Equal("4 min 30 s", ttr.GetProperty("text").GetString());
        var alphaView = bob.GetProperty("hosts").EnumerateArray().Single(h => h.GetProperty("host").GetString() == "alpha");
        Assert.True(alphaView.GetProperty("cut_holds").GetBoolean());
        Assert.Equal("refused", alphaView.GetProperty("cut").GetProperty("ssh_key_login").GetString());
        Assert.Equal(
            ["RoleBinding owners-bob in namespace team-b (another stack's: remove it there, then drop it from the tombstone)", "host beta: the account is still active (not cut)"],
            bob.GetProperty("still_held").EnumerateArray().Select(x => x.GetString()));

        var md = Report("--status", alpha, "--status", beta).Out;
        Assert.Contains("## Leavers (1)", md, StringComparison.Ordinal);
        Assert.Contains("| bob | retired | 2026-07-01T09:00:00Z | #9 | alpha 2026-07-01T09:04:30Z | alpha 4 min 30 s | 2 |", md, StringComparison.Ordinal);
        Assert.Contains("  - cut probes: password\\_login refused, ssh\\_key\\_login refused, processes 0, units\\_off true, maps absent", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_hosts_live_state_and_last_login_show_beside_the_roster_with_mismatches_flagged()
    {
        History();
        var inStep = Json("--status", Status("alpha", CutBob(null, false) ));
        var alice = Person(inStep, "alice").GetProperty("hosts").EnumerateArray().Single();
        Assert.Equal("2026-06-30T08:15:00Z", alice.GetProperty("last_login").GetString());
        Assert.Empty(alice.GetProperty("mismatches").EnumerateArray());

        var drifted = Json("--status", Status("alpha", CutBob(null, false), a => a["tier"] = "admin"));
        var view = Person(drifted, "alice").GetProperty("hosts").EnumerateArray().Single();
        Assert.Equal(["tier: roster power-user; host admin"], view.GetProperty("mismatches").EnumerateArray().Select(x => x.GetString()));
        // bob is active in the roster and cut on the host: that is a mismatch too.
        Assert.Contains("account: roster managed, active; host suspended",
            Person(drifted, "bob").GetProperty("hosts").EnumerateArray().Single().GetProperty("mismatches").EnumerateArray().Select(x => x.GetString()));
    }

    /// <summary>
    /// A host's last login of a person has three readings: a time, none recorded (`last_login:
    /// null`: the person never logged in there), and not reported (a host before the field); the
    /// report keeps them apart in every format, and a value that is neither stops it.
    /// </summary>
    [Fact]
    public void A_hosts_last_login_is_a_time_none_recorded_or_not_reported_and_anything_else_stops_the_report()
    {
        History();
        var alpha = Status("alpha", CutBob(null, false));
        var beta = Status("beta", CutBob(null, false), a => a["last_login"] = null);
        var gamma = Status("gamma", CutBob(null, false), a => a.Remove("last_login"));
        var hosts = Person(Json("--status", alpha, "--status", beta, "--status", gamma), "alice").GetProperty("hosts").EnumerateArray()
            .ToDictionary(h => h.GetProperty("host").GetString()!, h => (h.GetProperty("last_login").ValueKind == JsonValueKind.String
                ? h.GetProperty("last_login").GetString() : null, h.GetProperty("last_login_reported").GetBoolean()));
        Assert.Equal(("2026-06-30T08:15:00Z", true), hosts["alpha"]);
        Assert.Equal((null, true), hosts["beta"]);
        Assert.Equal((null, false), hosts["gamma"]);

        var md = Report("--status", alpha, "--status", beta, "--status", gamma).Out;
        Assert.Contains("last login 2026-06-30T08:15:00Z", md, StringComparison.Ordinal);
        Assert.Contains("no login recorded", md, StringComparison.Ordinal);
        Assert.Contains("last login not reported", md, StringComparison.Ordinal);
        var csv = Report("--status", alpha, "--status", beta, "--status", gamma, "--format", "csv").Out;
        Assert.Contains("alpha: 2026-06-30T08:15:00Z; beta: none,", csv, StringComparison.Ordinal);

        // Only the form the host writes is a time: a word, another offset or a number stops the report.
        var offset = Status("delta", CutBob(null, false), a => a["last_login"] = "2026-06-30T10:15:00+02:00");
        var bad = Status("epsilon", CutBob(null, false), a => a["last_login"] = "yesterday");
        var r = Report("--status", bad);
        Assert.Equal((2, ""), (r.Code, r.Out));
        Assert.Contains("host epsilon: people[alice].last_login: \"yesterday\" is not null or a time like 2026-06-30T08:15:00Z", r.Err, StringComparison.Ordinal);
        Assert.Equal(2, Report("--status", offset).Code);
        Assert.Equal(2, Report("--status", Status("zeta", CutBob(null, false), a => a["last_login"] = 1782807300)).Code);
    }

    [Fact]
    public void Text_from_git_cannot_add_markdown_mentions_links_or_rows_nor_spreadsheet_formulas()
    {
        // git itself drops '<' and '>' from a name, not from a message.
        _repo.MergePr(Roster(Alice), "x", "Merge pull request #5 from x <img src=x> [click](https://evil.example)\n\nReviewed-by: =1+1 | **b**", "a", "@everyone | row", At("2026-03-01T10:00:00Z"));
        var md = Report().Out;
        Assert.Contains("merged by \\@everyone \\| row", md, StringComparison.Ordinal);
        Assert.DoesNotContain("@everyone", md.Replace("\\@everyone", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("\\<img src=x\\> \\[click\\]", md, StringComparison.Ordinal);
        Assert.Contains("reviewed by =1+1 \\| \\*\\*b\\*\\*", md, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", md.Replace("\\<img", "", StringComparison.Ordinal), StringComparison.Ordinal);
        var csv = Report("--format", "csv").Out;
        Assert.Equal("os_user", csv.Split("\r\n")[0].Split(',')[0]);
        var row = csv.Split("\r\n")[1..].Single(l => l.StartsWith("alice,", StringComparison.Ordinal));
        Assert.Contains(",'@everyone | row,", row, StringComparison.Ordinal);
        Assert.Contains(",'=1+1 | **b**,", row, StringComparison.Ordinal);
    }

    [Fact]
    public void A_flow_style_retired_section_is_still_read_per_person()
    {
        _repo.Commit(Roster(Alice, "retired: { bob: { uid: 2001, ports: { t3: 3781, playwright: 8941 } } }\n"), "retire bob (#7)", "carol", At("2026-03-01T10:00:00Z"));
        _repo.Commit(Roster(Alice, "retired: { bob: { uid: 2001, ports: { t3: 3781, playwright: 8941 } }, zed: { uid: 2002, ports: { t3: 3782, playwright: 8942 } } }\n"),
            "retire zed (#8)", "carol", At("2026-03-02T10:00:00Z"));
        var report = Json();
        Assert.Equal(7, Person(report, "bob", "leavers").GetProperty("retired").GetProperty("pr").GetInt32());
        Assert.Equal(8, Person(report, "zed", "leavers").GetProperty("retired").GetProperty("pr").GetInt32());
    }

    [Fact]
    public void A_status_file_that_is_not_a_host_report_stops_it_with_the_file_named_and_nothing_printed()
    {
        History();
        var bad = File("alpha.json", "{\"people\": [{\"name\": \"x\"}]}");
        var r = Report("--status", bad);
        Assert.Equal(2, r.Code);
        Assert.Equal("", r.Out);
        Assert.Contains($"{bad}: not a `workstation status --json` report", r.Err, StringComparison.Ordinal);
        var notJson = File("beta.json", "people:");
        Assert.Contains($"{notJson}: not a `workstation status --json` report", Report("--status", notJson).Err, StringComparison.Ordinal);
        Assert.Equal(2, Report("--format", "xml").Code);
        // A person without the facts the roster is compared with: not a complete report either.
        var partial = File("gamma.json", "{\"people\": [{\"user\": \"alice\", \"state\": \"active\", \"tier\": \"power-user\"}]}");
        var r2 = Report("--status", partial);
        Assert.Equal((2, ""), (r2.Code, r2.Out));
        Assert.Contains("a --status file is not a complete `workstation status --json` report", r2.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void An_emergency_cut_before_the_retire_merged_shows_as_a_negative_time_to_revoke()
    {
        History();
        _repo.MergePr(Roster(Alice, BobRetired), "retire-bob", "Merge pull request #9 from team/retire-bob", "carol", "dave", At("2026-07-01T09:00:00Z"));
        var report = Json("--status", Status("alpha", CutBob("2026-07-01T08:20:00Z", holds: true)));
        var ttr = Assert.Single(Person(report, "bob", "leavers").GetProperty("time_to_revoke").EnumerateArray());
        Assert.Equal((-2400L, "-40 min 0 s"), (ttr.GetProperty("seconds").GetInt64(), ttr.GetProperty("text").GetString()));
        Assert.Contains("- time to revoke on alpha: -40 min 0 s (cut before the retire merged: an emergency cut)",
            Report("--status", Status("alpha", CutBob("2026-07-01T08:20:00Z", holds: true))).Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Outside_git_the_report_says_there_is_no_evidence_rather_than_inventing_some()
    {
        var dir = Directory.CreateTempSubdirectory("roster-nogit-");
        try
        {
            var path = Path.Combine(dir.FullName, "roster.yaml");
            System.IO.File.WriteAllText(path, Roster(Alice));
            using var stdout = new StringWriter();
            Assert.Equal(0, Cli.Run(["access-report", path], stdout, new StringWriter()));
            Assert.Contains("No evidence from git:", stdout.ToString(), StringComparison.Ordinal);
            Assert.Contains("evidence: none (no git history)", stdout.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

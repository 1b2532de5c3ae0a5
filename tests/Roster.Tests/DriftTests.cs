using System.Text.Json.Nodes;

namespace Workstation.Roster.Tests;

/// <summary>`roster drift`: the host's report against the roster, one line per fact that differs.</summary>
public class DriftTests
{
    /// <summary>The report a host in step with the golden roster gives (the shape `workstation status --json` prints).</summary>
    internal static JsonObject InStep()
    {
        var roster = Derivation.Derive(RosterLoader.LoadFile(TestFiles.GoldenRoster).ModelOrThrow());
        var people = new JsonArray();
        foreach (var u in roster.Users)
        {
            people.Add(new JsonObject
            {
                ["user"] = u.OsUser,
                ["state"] = "active",
                ["tier"] = u.Tier.ToYaml(),
                ["groups"] = new JsonArray(u.TierGroups.Append("workstation").Append(u.OsUser).Select(g => (JsonNode)g).ToArray()),
                ["units"] = new JsonArray(u.Services.Select(s => (JsonNode)new JsonObject { ["unit"] = s, ["enabled"] = "enabled", ["active"] = "active" }).ToArray()),
                ["ports"] = new JsonObject { ["t3"] = u.Ports.T3, ["playwright"] = u.Ports.Playwright },
                ["listening"] = new JsonObject { ["t3"] = new JsonArray(u.OsUser), ["playwright"] = new JsonArray(u.OsUser) },
                ["maps"] = new JsonObject { ["ttyd"] = u.AuthentikUser, ["dispatch"] = new JsonObject { ["authentik"] = u.AuthentikUser, ["port"] = u.Ports.T3 } },
                ["drift"] = new JsonArray(),
                ["budget"] = new JsonObject { ["services"] = Budget(u.Budget), ["logins"] = Budget(u.Budget) },
                ["playwright_entry"] = new JsonObject { ["state"] = "ours", ["port"] = u.Ports.Playwright, ["server_port"] = u.Ports.Playwright },
            });
        }
        people.Add(new JsonObject { ["user"] = "carol", ["state"] = "suspended" });
        return new JsonObject { ["people"] = people };
    }

    /// <summary>A slice's limits as systemctl shows them.</summary>
    private static JsonObject Budget(Budget b) => new()
    {
        ["memory_high"] = b.MemoryHigh.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["memory_max"] = b.MemoryMax.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["cpu_weight"] = b.CpuWeight.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["tasks_max"] = b.TasksMax.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    internal static (int Code, string Out) Run(JsonObject report, string? rosterText = null)
    {
        var file = Path.GetTempFileName();
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            File.WriteAllText(file, report.ToJsonString());
            var rosterFile = TestFiles.GoldenRoster;
            if (rosterText is not null) File.WriteAllText(rosterFile = Path.Combine(dir.FullName, "roster.yaml"), rosterText);
            var stdout = new StringWriter();
            var code = Cli.Run(["drift", file, rosterFile], stdout, new StringWriter());
            return (code, stdout.ToString());
        }
        finally
        {
            File.Delete(file);
            dir.Delete(true);
        }
    }

    /// <summary>What drift gives for a report with these drifted facts: each on its line, and exit code 1.</summary>
    private static (int Code, string Out) Drifted(params string[] lines) => (1, string.Join('\n', lines) + "\n");

    [Fact]
    public void A_host_in_step_with_the_roster_has_no_drift()
    {
        Assert.Equal((0, "no drift\n"), Run(InStep()));
    }

    [Fact]
    public void Each_drifted_fact_is_one_line_with_expected_and_actual_and_the_exit_is_1()
    {
        var report = InStep();
        var people = report["people"]!.AsArray();
        JsonObject Person(string name) => people.Select(p => p!.AsObject()).Single(p => (string)p["user"]! == name);
        Person("alice")["units"]![2]!["enabled"] = "disabled";
        Person("bob")["groups"]!.AsArray().Add("docker");
        Person("wiz")["maps"]!["ttyd"] = "someone.else";
        Person("alice")["listening"]!["playwright"] = new JsonArray("bob");
        Person("carol")["state"] = "active";
        Person("bob")["budget"]!["logins"]!["memory_max"] = "infinity";
        Person("bob")["budget"]!["logins"]!["cpu_weight"] = "[not set]";
        people.Add(new JsonObject { ["user"] = "mallory", ["state"] = "active" });

        Assert.Equal(Drifted(
            "alice: unit t3-serve@alice.service: expected enabled, active; actual disabled, active",
            "alice: listening on the playwright port 8932: expected alice; actual bob",
            "bob: group docker: expected not a member; actual member",
            "bob: budget of user-2002.slice: expected memory_high 2G, memory_max 3G, cpu_weight 100, tasks_max 4096; actual memory_high 2G, memory_max infinity, cpu_weight [not set], tasks_max 4096",
            "carol: account: expected suspended; actual active",
            "wiz: ttyd-user-map entry: expected wiz.admin; actual someone.else",
            "mallory: account: expected not in the roster (a managed account nobody names); actual managed, active",
            "7 drift(s)"), Run(report));
    }

    /// <summary>
    /// Issue 26 §3: the person's playwright MCP entry against the roster's port, seen from each side:
    /// missing, left on another port (the program's, waiting for the restart), replaced by a hand-made
    /// one (on another port, or on none), unreadable. A hand-made entry on the right port, and a
    /// report without the fact (a host before it), are no drift.
    /// </summary>
    [Fact]
    public void The_playwright_entry_is_drift_when_missing_elsewhere_hand_made_elsewhere_or_unreadable()
    {
        var report = InStep();
        var people = report["people"]!.AsArray();
        JsonObject Person(string name) => people.Select(p => p!.AsObject()).Single(p => (string)p["user"]! == name);
        JsonObject Entry(string state, int? port) => new() { ["state"] = state, ["port"] = port, ["server_port"] = 1 };
        Person("alice")["playwright_entry"] = Entry("missing", null);
        Person("bob")["playwright_entry"] = Entry("ours", 8999);
        Person("wiz")["playwright_entry"] = Entry("hand-made", 8998);

        Assert.Equal(Drifted(
            "alice: playwright MCP entry in ~/.claude.json: expected port 8932; actual missing",
            "bob: playwright MCP entry in ~/.claude.json: expected port 8933; actual port 8999",
            "wiz: playwright MCP entry in ~/.claude.json: expected port 8931; actual port 8998, made by hand (its person repoints it)",
            "3 drift(s)"), Run(report));

        Person("alice")["playwright_entry"] = Entry("hand-made", null);
        Person("bob")["playwright_entry"] = Entry("unreadable", null);
        Person("wiz")["playwright_entry"] = Entry("hand-made", 8931);
        Assert.Equal(Drifted(
            "alice: playwright MCP entry in ~/.claude.json: expected port 8932; actual no local port, made by hand (its person repoints it)",
            "bob: playwright MCP entry in ~/.claude.json: expected port 8933; actual unreadable (not a regular file, over the size limit, or not JSON)",
            "2 drift(s)"), Run(report));

        // Back in place (the program's one at 8932), and alice's fact left out altogether: no drift.
        Person("alice").Remove("playwright_entry");
        Person("bob")["playwright_entry"] = Entry("ours", 8933);
        Assert.Equal((0, "no drift\n"), Run(report));
    }

    /// <summary>
    /// Issue 24 §8: the seed's people hold ordinary groups (adm, lxd) that no tier grants. Listed in
    /// their entry's extra_groups, they are not drift; a group beyond the tier and extra_groups still is.
    /// </summary>
    [Fact]
    public void S8_groups_in_extra_groups_are_not_drift_and_groups_beyond_them_still_are()
    {
        var report = InStep();
        var bob = report["people"]!.AsArray().Select(p => p!.AsObject()).Single(p => (string)p["user"]! == "bob");
        foreach (var g in new[] { "adm", "lxd", "audio" }) bob["groups"]!.AsArray().Add(g);
        var roster = File.ReadAllText(TestFiles.GoldenRoster);
        var withExtra = System.Text.RegularExpressions.Regex.Replace(roster, @"(\n  bob:\n)", "$1    extra_groups: [lxd, adm]\n");
        Assert.NotEqual(roster, withExtra);

        var (code, output) = Run(report, withExtra);
        Assert.Equal((1, "bob: group audio: expected not a member; actual member\n1 drift(s)\n"), (code, output));
        Assert.Equal(4, Run(report).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length); // without extra_groups: adm, lxd, audio and the count
    }

    /// <summary>
    /// Issue 24 §8, drift green on day one: an open home the host flags is drift while the entry
    /// says nothing, and still is under `private_home: true` (the account step has not closed it
    /// yet); `private_home: false`, written out, keeps it open on purpose, so it is not.
    /// Another kind of host drift is reported either way.
    /// </summary>
    [Theory]
    [InlineData(null, true)]
    [InlineData("true", true)]
    [InlineData("false", false)]
    public void S8_an_open_home_is_drift_unless_the_entry_keeps_it_open_on_purpose(string? privateHome, bool drift)
    {
        var report = InStep();
        var bob = report["people"]!.AsArray().Select(p => p!.AsObject()).Single(p => (string)p["user"]! == "bob");
        bob["drift"] = new JsonArray(
            new JsonObject { ["kind"] = "home-mode", ["value"] = "755", ["detail"] = "home /home/bob is mode 755 (group bob)" },
            new JsonObject { ["kind"] = "stale-group", ["value"] = "docker", ["detail"] = "1 running process(es) of bob still hold group docker" });
        var roster = File.ReadAllText(TestFiles.GoldenRoster);
        var text = privateHome is null ? roster
            : System.Text.RegularExpressions.Regex.Replace(roster, @"(\n  bob:\n)", $"$1    private_home: {privateHome}\n");
        Assert.Equal(privateHome is null, roster == text);

        var (code, output) = Run(report, text);
        Assert.Equal(1, code);
        Assert.Contains("bob: host: stale-group docker", output, StringComparison.Ordinal);
        Assert.Equal(drift, output.Contains("bob: host: home-mode 755", StringComparison.Ordinal));
        Assert.EndsWith($"{(drift ? 2 : 1)} drift(s)\n", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Issue 24 §5: offboarding leaves the bindings another stack made. While the tombstone still
    /// names one, drift reports it, one line each; once the owner drops it from the tombstone, none.
    /// </summary>
    [Fact]
    public void S5_a_binding_another_stack_owns_is_drift_while_the_tombstone_names_it()
    {
        var roster = File.ReadAllText(TestFiles.GoldenRoster);
        const string Carol = "  carol: { uid: 2003, ports: { t3: 3776, playwright: 8934 } }\n";
        Assert.Contains(Carol, roster, StringComparison.Ordinal);
        var named = roster.Replace(Carol, "  carol:\n    uid: 2003\n    ports: { t3: 3776, playwright: 8934 }\n" +
            "    external_bindings: { plotting-book: oidc-ns-owner-carol }\n    cluster_bindings: [oidc-carol]\n", StringComparison.Ordinal);

        Assert.Equal((1, string.Join('\n',
            "carol: still to remove by hand in the stack that owns it: RoleBinding oidc-ns-owner-carol in namespace plotting-book: expected gone, then dropped from retired.carol.external_bindings; actual still named there",
            "carol: still to remove by hand in the stack that owns it: ClusterRoleBinding oidc-carol: expected gone, then dropped from retired.carol.cluster_bindings; actual still named there",
            "2 drift(s)") + "\n"), Run(InStep(), named));
        Assert.Equal((0, "no drift\n"), Run(InStep(), roster));
    }

    [Fact]
    public void A_report_that_is_not_json_is_a_clear_error()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "workstation: error: something");
            var stderr = new StringWriter();
            Assert.Equal(2, Cli.Run(["drift", file, TestFiles.GoldenRoster], new StringWriter(), stderr));
            Assert.Contains("not a `workstation status --json` report", stderr.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}

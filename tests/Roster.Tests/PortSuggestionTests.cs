using System.Text.Json.Nodes;
using static Workstation.Roster.Tests.TestFiles;

namespace Workstation.Roster.Tests;

/// <summary>Sticky ports: suggestions for unpinned users are deterministic, pasteable, and never move anyone.</summary>
public class PortSuggestionTests
{
    private static string Unpinned(string name) =>
        $"  {name}:\n    authentik_user: {name}\n    k8s_user: {name}\n    email: {name}@example.test\n    tier: power-user\n";

    [Fact]
    public void Two_unpinned_users_get_distinct_suggestions_in_file_order()
    {
        var yaml = Head + Unpinned("zed") + User("alice", 3774, 8932) + Unpinned("amy");
        string[] expected =
        [
            "roster.yaml:8:5: users.zed.ports: no ports are pinned; pin the next free ports with:  ports: { t3: 3775, playwright: 8933 }",
            "roster.yaml:19:5: users.amy.ports: no ports are pinned; pin the next free ports with:  ports: { t3: 3776, playwright: 8934 }",
        ];
        Assert.Equal(expected, Show(RosterLoader.Load(yaml)));
        // Deterministic: the same file gives the same suggestions every time.
        Assert.Equal(expected, Show(RosterLoader.Load(yaml)));
    }

    [Fact]
    public void Suggestions_fill_gaps_but_skip_every_pinned_and_retired_port()
    {
        var yaml = Head + User("alice", 3776, 8932) + Unpinned("bob") + Unpinned("cy") +
            "retired:\n  old: { uid: 2000, ports: { t3: 3774, playwright: 8933 } }\n";
        Assert.Equal(
        [
            "roster.yaml:14:5: users.bob.ports: no ports are pinned; pin the next free ports with:  ports: { t3: 3775, playwright: 8934 }",
            "roster.yaml:19:5: users.cy.ports: no ports are pinned; pin the next free ports with:  ports: { t3: 3777, playwright: 8935 }",
        ], Show(RosterLoader.Load(yaml)));
    }

    [Fact]
    public void Suggestions_start_at_the_configured_base_ports()
    {
        var yaml = "settings:\n  t3_base_port: 20000\n  playwright_base_port: 30000\n" + Head + Unpinned("bob");
        Assert.Equal(
            ["roster.yaml:11:5: users.bob.ports: no ports are pinned; pin the next free ports with:  ports: { t3: 20000, playwright: 30000 }"],
            Show(RosterLoader.Load(yaml)));
    }

    [Fact]
    public void The_admin_without_pins_gets_a_suggestion_too()
    {
        var yaml = "admin:\n  os_user: wiz\n  authentik_user: wiz\n  k8s_user: wiz\nusers: {}\n";
        Assert.Equal(
            ["roster.yaml:2:3: admin.ports: no ports are pinned; pin the next free ports with:  ports: { t3: 3773, playwright: 8931 }"],
            Show(RosterLoader.Load(yaml)));
    }

    [Fact]
    public void A_written_but_invalid_port_still_gets_a_pasteable_line()
    {
        var yaml = Head + Unpinned("bob") + "    ports: { t3: \"x\" }\n";
        Assert.Equal(
        [
            "roster.yaml:12:12: users.bob.ports: the playwright port is not pinned; pin the next free ports with:  ports: { t3: 3774, playwright: 8932 }",
            "roster.yaml:12:18: users.bob.ports.t3: must be a whole number, got 'x'",
        ], Show(RosterLoader.Load(yaml)));
    }

    [Fact]
    public void Pasting_the_suggested_lines_makes_the_roster_valid()
    {
        var yaml = Head + Unpinned("zed") + User("alice", 3774, 8932) + Unpinned("amy");
        for (var round = 0; round < 3; round++)
        {
            var result = RosterLoader.Load(yaml);
            if (result.Ok) break;
            foreach (var e in result.Errors)
            {
                const string marker = "pin the next free ports with:  ";
                var line = e.Message[(e.Message.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..];
                var user = e.Field.Split('.')[1];
                yaml = yaml.Replace($"    email: {user}@example.test\n", $"    email: {user}@example.test\n    {line}\n", StringComparison.Ordinal);
            }
        }
        var ok = RosterLoader.Load(yaml);
        Assert.True(ok.Ok, string.Join('\n', ok.Errors));
        var ports = ok.Model!.Users.ToDictionary(u => u.OsUser, u => u.Ports);
        Assert.Equal(new Ports(3775, 8933), ports["zed"]);
        Assert.Equal(new Ports(3774, 8932), ports["alice"]);
        Assert.Equal(new Ports(3776, 8934), ports["amy"]);
    }

    [Fact]
    public void Where_an_unpinned_user_stands_changes_no_pinned_port_and_not_its_own_suggestion()
    {
        var pinned = new[] { User("alice", 3774, 8932), User("bob", 3775, 8933), User("cy", 3777, 8935) };
        var seen = new HashSet<string>();
        for (var at = 0; at <= pinned.Length; at++)
        {
            var users = pinned.ToList();
            users.Insert(at, Unpinned("new"));
            var errors = RosterLoader.Load(Head + string.Concat(users)).Errors;
            var error = Assert.Single(errors);
            seen.Add(error.Message);
        }
        Assert.Equal(["no ports are pinned; pin the next free ports with:  ports: { t3: 3776, playwright: 8934 }"], seen);
    }

    [Fact]
    public void Adding_or_removing_users_never_changes_anyone_elses_derived_values()
    {
        var users = Enumerable.Range(1, 12).Select(i => User($"u{i:D2}", 5000 + i, 6000 + i, extra: $"    uid: {3000 + i}\n")).ToList();
        var before = PerUser(Head + string.Concat(users));

        var added = users.ToList();
        added.Insert(5, User("newbie", 5100, 6100));
        var afterAdd = PerUser(Head + string.Concat(added));
        Assert.Equal(before.Count + 1, afterAdd.Count);
        foreach (var (name, json) in before) Assert.Equal(json, afterAdd[name]);

        var removed = users.Where((_, i) => i != 3).ToList();
        var afterRemove = PerUser(Head + string.Concat(removed));
        Assert.Equal(before.Count - 1, afterRemove.Count);
        foreach (var (name, json) in afterRemove) Assert.Equal(before[name], json);
    }

    internal static Dictionary<string, string> PerUser(string yaml)
    {
        var result = RosterLoader.Load(yaml);
        Assert.True(result.Ok, string.Join('\n', result.Errors));
        var json = JsonNode.Parse(DerivedJson.Write(Derivation.Derive(result.Model!)))!;
        return json["users"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.ToJsonString());
    }
}

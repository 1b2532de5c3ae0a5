namespace Workstation.Roster.Tests;

/// <summary>Issue 27: the roster's host: per person, checked against the stack's hosts, and `roster place`'s bin-packing.</summary>
public sealed class FleetPlacementTests
{
    private const long G = 1L << 30;
    private const string Key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixtureHostKey";

    /// <summary>A host whose ceiling is exactly <paramref name="limitG"/> GiB (no swap, no reserve).</summary>
    private static FleetMember Host(string name, long limitG, bool cordon = false) =>
        new(new HostEntry(name, name + ".example.test", 22, "root", Key, $"{limitG}G", null, cordon), new HostCapacity(limitG * G, 0, 0, 85));

    /// <summary>The admin (budget 10G) and users of 3G each (power-user default), with optional host: lines.</summary>
    private static RosterModel Roster(string? adminHost, params (string Name, string? Host)[] users) =>
        RosterLoader.Load(RosterText(adminHost, users), "roster.yaml").ModelOrThrow();

    private static string RosterText(string? adminHost, params (string Name, string? Host)[] users)
    {
        var text = "admin:\n  os_user: wiz\n  authentik_user: wiz.admin\n  k8s_user: wiz\n  uid: 2000\n  ports: { t3: 3773, playwright: 8931 }\n" +
                   (adminHost is null ? "" : $"  host: {adminHost}\n") + "users:\n";
        var i = 0;
        foreach (var (name, host) in users)
        {
            i++;
            text += $"  {name}:\n    authentik_user: {name}.auth\n    k8s_user: {name}\n    email: {name}@example.test\n    tier: power-user\n" +
                    $"    uid: {3000 + i}\n    ports: {{ t3: {10000 + i}, playwright: {20000 + i} }}\n" + (host is null ? "" : $"    host: {host}\n");
        }
        return text + "retired: {}\n";
    }

    [Fact]
    public void A_person_without_host_in_a_one_host_fleet_lives_on_that_host()
    {
        var (placement, errors) = Placement.Check(Roster(null, ("alice", null)), [Host("devvm", 24)]);
        Assert.Empty(errors);
        Assert.Equal("devvm", placement!.HostOf["alice"]);
        Assert.Equal("devvm", placement.HostOf["wiz"]);
    }

    [Fact]
    public void A_host_the_stack_does_not_know_is_refused_at_its_line()
    {
        var (placement, errors) = Placement.Check(Roster("devvm", ("alice", "devvm9")), [Host("devvm", 24), Host("devvm2", 24)]);
        Assert.Null(placement);
        var e = Assert.Single(errors);
        Assert.Equal("roster.yaml:16:11: users.alice.host: 'devvm9' is not a host of the stack (its hosts: devvm, devvm2)", e.ToString());
    }

    [Fact]
    public void In_a_fleet_of_several_hosts_a_person_without_host_is_refused_pointing_at_roster_place()
    {
        var (_, errors) = Placement.Check(Roster("devvm", ("alice", null)), [Host("devvm", 24), Host("devvm2", 24)]);
        var e = Assert.Single(errors);
        Assert.Equal("users.alice.host", e.Field);
        Assert.Contains("`roster place --stack STACKFILE`", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(16, true)]   // 10G + 2 x 3G = 16G: exactly at the ceiling fits
    [InlineData(17, true)]   // one above the sum: fits
    [InlineData(15, false)]  // one below the sum: over
    public void A_host_over_its_ceiling_is_refused_naming_everyone_on_it(long limitG, bool fits)
    {
        var roster = Roster("a", ("alice", "a"), ("bob", "a"), ("carol", "b"));
        var (placement, errors) = Placement.Check(roster, [Host("a", limitG), Host("b", 4)]);
        if (fits)
        {
            Assert.Empty(errors);
            Assert.Equal(["alice", "bob", "wiz"], placement!.On("a", Derivation.Derive(roster).Users).Select(u => u.OsUser));
            return;
        }
        var e = Assert.Single(errors);
        Assert.Equal("users.bob.host", e.Field);
        Assert.StartsWith("host 'a' is over its ceiling: ", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("On it: alice, bob, wiz.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_admin_on_more_than_one_host_is_refused()
    {
        var result = RosterLoader.Load("admin:\n  os_user: wiz\n  authentik_user: wiz.admin\n  k8s_user: wiz\n  ports: { t3: 3773, playwright: 8931 }\n  host: [devvm, devvm2]\nusers: {}\n", "roster.yaml");
        var e = Assert.Single(result.Errors);
        Assert.Equal("roster.yaml:6:9: admin.host: the admin is on one host: name one (the admin is cut by no automation, so it can't be in two places)", e.ToString());
    }

    [Fact]
    public void A_move_needs_a_pinned_uid_and_a_host_other_than_the_one_left()
    {
        const string head = "admin:\n  os_user: wiz\n  authentik_user: wiz.admin\n  k8s_user: wiz\n  ports: { t3: 3773, playwright: 8931 }\nusers:\n  alice:\n    authentik_user: a\n    k8s_user: alice\n    email: a@example.test\n    tier: power-user\n    ports: { t3: 3774, playwright: 8932 }\n";
        Assert.Contains(RosterLoader.Load(head + "    host: b\n    moved_from: a\n").Errors, e => e.Field == "users.alice.moved_from" && e.Message.StartsWith("a move needs a pinned uid:", StringComparison.Ordinal));
        Assert.Contains(RosterLoader.Load(head + "    uid: 3001\n    host: a\n    moved_from: a\n").Errors, e => e.Field == "users.alice.moved_from" && e.Message.Contains("is this person's host: as well", StringComparison.Ordinal));
        Assert.Empty(RosterLoader.Load(head + "    uid: 3001\n    host: b\n    moved_from: a\n").Errors);
    }

    [Fact]
    public void Ports_that_would_clash_on_the_new_host_are_refused_by_validation_first()
    {
        // Ports are unique across the whole roster, every host's people together: a move never
        // brings a port another person on the new host holds.
        const string text = "admin:\n  os_user: wiz\n  authentik_user: wiz.admin\n  k8s_user: wiz\n  ports: { t3: 3773, playwright: 8931 }\n  host: b\nusers:\n  alice:\n    authentik_user: a\n    k8s_user: alice\n    email: a@example.test\n    tier: power-user\n    uid: 3001\n    ports: { t3: 3773, playwright: 8932 }\n    host: b\n    moved_from: a\n";
        Assert.Contains(RosterLoader.Load(text).Errors, e => e.Field == "users.alice.ports.t3" && e.Message == "port 3773 is already used by admin.ports.t3");
    }

    [Fact]
    public void Place_puts_the_admin_first_then_the_largest_budgets_on_the_host_with_most_room_and_never_moves_anyone_placed()
    {
        var roster = Roster(null, ("alice", null), ("bob", "a"), ("carol", null));
        var result = Placement.Place(roster, [Host("a", 16), Host("b", 14)]);
        // wiz (10G) first: b has 14G free, a 13G (bob is on it) -> b; then alice and carol (3G): a has the most room.
        Assert.Equal([("wiz", "b"), ("alice", "a"), ("carol", "a")], result.Placed);
        Assert.Empty(result.Unplaced);
        Assert.DoesNotContain(result.Placed, p => p.OsUser == "bob");
        Assert.Equal("admin:  host: b\nusers.alice:  host: a\nusers.carol:  host: a\n", result.Lines);
    }

    [Fact]
    public void Place_skips_cordoned_hosts()
    {
        var result = Placement.Place(Roster("a", ("alice", null)), [Host("a", 24), Host("b", 24, cordon: true)]);
        Assert.Equal([("alice", "a")], result.Placed);
    }

    [Theory]
    [InlineData(13, true)]   // 10G admin + 3G: exactly at the ceiling
    [InlineData(14, true)]   // one above
    [InlineData(12, false)]  // one below: nowhere to go
    public void Place_fills_a_host_up_to_its_ceiling_and_no_further(long limitG, bool placed)
    {
        var result = Placement.Place(Roster("a", ("alice", null)), [Host("a", limitG)]);
        Assert.Equal(placed, result.Placed.Count == 1);
        Assert.Equal(!placed, result.Unplaced.Count == 1);
        if (!placed) Assert.Contains("fits under no host's ceiling (a 2G free)", result.Unplaced[0].Why, StringComparison.Ordinal);
    }

    [Fact]
    public void Place_counts_measured_use_from_a_fleet_report_when_it_is_above_the_budgets()
    {
        using var report = System.Text.Json.JsonDocument.Parse(
            "{\"hosts\": {\"a\": {\"people\": [{\"user\": \"wiz\", \"memory_current\": " + (20 * G) + "}]}, \"b\": {\"people\": []}}}");
        var (measured, why) = Placement.MeasuredFrom(report.RootElement);
        Assert.Null(why);
        // Budgets alone: a (10G used of 24G) has more room than b (12G) -> a; measured 20G on a -> b.
        Assert.Equal([("alice", "a")], Placement.Place(Roster("a", ("alice", null)), [Host("a", 24), Host("b", 12)]).Placed);
        Assert.Equal([("alice", "b")], Placement.Place(Roster("a", ("alice", null)), [Host("a", 24), Host("b", 12)], measured).Placed);
    }

    [Fact]
    public void A_fleet_report_that_is_not_one_is_refused_saying_its_shape()
    {
        using var report = System.Text.Json.JsonDocument.Parse("{\"people\": []}");
        Assert.Contains("a fleet report is {\"hosts\"", Placement.MeasuredFrom(report.RootElement).Why, StringComparison.Ordinal);
    }

    [Fact]
    public void Roster_diff_shows_a_host_change_as_a_move_with_its_steps_in_order()
    {
        var before = Derivation.Derive(Roster("a", ("alice", "a")));
        var movedText = RosterText("a", ("alice", "b")).Replace("    host: b\n", "    host: b\n    moved_from: a\n", StringComparison.Ordinal);
        var after = Derivation.Derive(RosterLoader.Load(movedText).ModelOrThrow());
        var diff = Access.AccessDiffs.Diff(before, after);
        var alice = Assert.Single(diff.People);
        Assert.Equal("alice", alice.OsUser);
        Assert.Empty(alice.Changes); // the same access, on another host
        Assert.Equal("a", alice.Move!.From);
        Assert.Equal("b", alice.Move.To);
        Assert.StartsWith("on a: `user move-out`: the offboarding cut", alice.Move.Steps[0], StringComparison.Ordinal);
        Assert.StartsWith("on b: `user move-in --uid 3001`", alice.Move.Steps[1], StringComparison.Ordinal);
        Assert.StartsWith("on b: the account, code, services and secrets steps", alice.Move.Steps[2], StringComparison.Ordinal);
        Assert.Empty(diff.Warnings);
        var markdown = Access.AccessDiffs.Markdown(diff, "base", "head");
        Assert.Contains("Moves from host `a` to `b`, in one `up`, in this order:\n\n1. on a: `user move-out`", markdown, StringComparison.Ordinal);
        Assert.Contains("\"move\": {", Access.AccessDiffs.Json(diff), StringComparison.Ordinal);
    }

    [Fact]
    public void Roster_diff_warns_about_a_host_change_without_moved_from()
    {
        var diff = Access.AccessDiffs.Diff(Derivation.Derive(Roster("a", ("alice", "a"))), Derivation.Derive(Roster("a", ("alice", "b"))));
        Assert.Equal("b", Assert.Single(diff.People).Move!.To);
        Assert.Contains("without `moved_from: a`", Assert.Single(diff.Warnings).Text, StringComparison.Ordinal);
    }
}

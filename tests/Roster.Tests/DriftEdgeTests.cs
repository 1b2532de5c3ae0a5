using System.Text.Json.Nodes;

namespace Workstation.Roster.Tests;

/// <summary>
/// Issue 26 §9, drift from both sides: each fact `roster drift` compares is tried with something
/// extra beside what the roster wants, with it missing, and with it replaced by something else,
/// each on a host otherwise in step with the golden roster (<see cref="DriftTests.InStep"/>).
/// A fact with one value has no "extra" (a second value is a replaced one): docs/roster.md's table says which.
/// </summary>
public class DriftEdgeTests
{
    private static JsonObject Person(JsonObject report, string name) =>
        report["people"]!.AsArray().Select(p => p!.AsObject()).Single(p => (string)p["user"]! == name);

    private static void Remove(JsonObject report, string name) =>
        report["people"]!.AsArray().Remove(Person(report, name));

    private static void Twice(JsonObject report, string name) =>
        report["people"]!.AsArray().Add(Person(report, name).DeepClone());

    private static JsonArray Units(JsonObject report) => Person(report, "alice")["units"]!.AsArray();

    private static JsonObject Unit(JsonObject report, string unit) =>
        Units(report).Select(u => u!.AsObject()).Single(u => (string)u["unit"]! == unit);

    private const string T3Unit = "t3-serve@alice.service";
    private const string AliceBudget = "memory_high 3G, memory_max 6G, cpu_weight 100, tasks_max 4096";

    /// <summary>Fact/kind → the change to an in-step report and the lines `roster drift` must print for it.</summary>
    private static readonly Dictionary<string, (Action<JsonObject> Change, string[] Lines)> Cases = new(StringComparer.Ordinal)
    {
        ["account/extra"] = (r => Twice(r, "alice"), ["alice: account: expected reported once; actual reported 2 times"]),
        ["account/missing"] = (r => Remove(r, "alice"), ["alice: account: expected managed, active; actual absent or unmanaged"]),
        ["account/replaced"] = (r => Person(r, "alice")["state"] = "suspended", ["alice: account: expected managed, active; actual suspended"]),
        ["retired/extra"] = (r => Twice(r, "carol"), ["carol: account: expected reported once; actual reported 2 times"]),
        ["retired/missing"] = (r => Remove(r, "carol"), ["carol: account: expected suspended; actual absent or unmanaged"]),
        ["retired/replaced"] = (r => Person(r, "carol")["state"] = "active", ["carol: account: expected suspended; actual active"]),
        ["unnamed/extra"] = (r => r["people"]!.AsArray().Add(new JsonObject { ["user"] = "mallory", ["state"] = "active" }),
            ["mallory: account: expected not in the roster (a managed account nobody names); actual managed, active"]),
        ["unnamed/replaced"] = (r => Person(r, "alice")["user"] = "alicia",
            ["alice: account: expected managed, active; actual absent or unmanaged", "alicia: account: expected not in the roster (a managed account nobody names); actual managed, active"]),
        ["tier/missing"] = (r => Person(r, "alice").Remove("tier"), ["alice: tier: expected power-user; actual none"]),
        ["tier/replaced"] = (r => Person(r, "alice")["tier"] = "admin", ["alice: tier: expected power-user; actual admin"]),
        ["group/extra"] = (r => Person(r, "alice")["groups"]!.AsArray().Add("docker"), ["alice: group docker: expected not a member; actual member"]),
        ["group/missing"] = (r => Person(r, "alice")["groups"] = new JsonArray("alice"), ["alice: group workstation: expected member; actual not a member"]),
        ["group/replaced"] = (r => Person(r, "alice")["groups"] = new JsonArray("workstation", "alicia"),
            ["alice: group alice: expected member; actual not a member", "alice: group alicia: expected not a member; actual member"]),
        ["unit/extra"] = (r => Units(r).Add(new JsonObject { ["unit"] = "t3-serve@old.service", ["enabled"] = "enabled", ["active"] = "active" }),
            ["alice: unit t3-serve@old.service: expected not one of the person's units; actual enabled, active"]),
        ["unit/extra-twice"] = (r => Units(r).Add(new JsonObject { ["unit"] = T3Unit, ["enabled"] = "disabled", ["active"] = "inactive" }),
            [$"alice: unit {T3Unit}: expected reported once; actual reported 2 times"]),
        ["unit/missing"] = (r => Units(r).Remove(Unit(r, T3Unit)), [$"alice: unit {T3Unit}: expected enabled, active; actual missing"]),
        ["unit/replaced"] = (r => Unit(r, T3Unit)["active"] = "failed", [$"alice: unit {T3Unit}: expected enabled, active; actual enabled, failed"]),
        ["port/missing"] = (r => Person(r, "alice")["ports"]!["t3"] = null, ["alice: t3 port: expected 3774; actual none"]),
        ["port/replaced"] = (r => Person(r, "alice")["ports"]!["playwright"] = 8999, ["alice: playwright port: expected 8932; actual 8999"]),
        ["listening/extra"] = (r => Person(r, "alice")["listening"]!["t3"] = new JsonArray("alice", "bob"),
            ["alice: listening on the t3 port 3774: expected alice; actual alice, bob"]),
        ["listening/missing"] = (r => Person(r, "alice")["listening"]!["playwright"] = new JsonArray(),
            ["alice: listening on the playwright port 8932: expected alice; actual nobody"]),
        ["listening/replaced"] = (r => Person(r, "alice")["listening"]!["t3"] = new JsonArray("root"),
            ["alice: listening on the t3 port 3774: expected alice; actual root"]),
        // The host lists every entry naming the person (user.sh person_json): ", "-joined for ttyd, an array for dispatch.
        ["ttyd/extra"] = (r => Person(r, "alice")["maps"]!["ttyd"] = "alice.a, mallory", ["alice: ttyd-user-map entry: expected alice.a; actual alice.a, mallory"]),
        ["dispatch/extra"] = (r => Person(r, "alice")["maps"]!["dispatch"] = new JsonArray(
                new JsonObject { ["authentik"] = "alice.a", ["port"] = 3774 }, new JsonObject { ["authentik"] = "mallory", ["port"] = 3774 }),
            ["alice: dispatch.json entry: expected alice.a → port 3774; actual alice.a → port 3774, mallory → port 3774"]),
        ["ttyd/missing"] = (r => Person(r, "alice")["maps"]!["ttyd"] = null, ["alice: ttyd-user-map entry: expected alice.a; actual no entry"]),
        ["ttyd/replaced"] = (r => Person(r, "alice")["maps"]!["ttyd"] = "mallory", ["alice: ttyd-user-map entry: expected alice.a; actual mallory"]),
        ["dispatch/missing"] = (r => Person(r, "alice")["maps"]!["dispatch"] = null, ["alice: dispatch.json entry: expected alice.a → port 3774; actual no entry"]),
        ["dispatch/replaced"] = (r => Person(r, "alice")["maps"]!["dispatch"]!["port"] = 3790,
            ["alice: dispatch.json entry: expected alice.a → port 3774; actual alice.a → port 3790"]),
        ["budget/missing"] = (r => Person(r, "alice").Remove("budget"),
            [$"alice: budget: expected {AliceBudget}; actual not reported (a host CLI older than budgets)"]),
        ["budget/missing-slice"] = (r => Person(r, "alice")["budget"]!.AsObject().Remove("services"),
            [$"alice: budget of workstation-alice.slice: expected {AliceBudget}; actual unknown"]),
        ["budget/replaced"] = (r => Person(r, "alice")["budget"]!["logins"]!["tasks_max"] = "100",
            [$"alice: budget of user-2001.slice: expected {AliceBudget}; actual memory_high 3G, memory_max 6G, cpu_weight 100, tasks_max 100"]),
        ["host/extra"] = (r => Person(r, "alice")["drift"]!.AsArray().Add(new JsonObject { ["kind"] = "privileged-group", ["value"] = "sudo", ["detail"] = "alice holds sudo" }),
            ["alice: host: privileged-group sudo: expected none; actual alice holds sudo"]),
    };

    public static TheoryData<string> CaseNames() => [.. Cases.Keys];

    /// <summary>Each case is exactly its lines, then the count, and the exit is 1; undoing nothing else, nothing else is reported.</summary>
    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Rule_a_fact_with_something_extra_missing_or_replaced_is_drift(string name)
    {
        var report = DriftTests.InStep();
        Assert.Equal((0, "no drift\n"), DriftTests.Run(report));
        var (change, lines) = Cases[name];
        change(report);
        Assert.Equal((1, string.Join('\n', lines.Append($"{lines.Length} drift(s)")) + "\n"), DriftTests.Run(report));
    }

    /// <summary>
    /// The budget's "extra" side: a person adopted with no memory budget in the roster is only
    /// watched (systemd holds no memory limit); a limit the host holds anyway is drift.
    /// </summary>
    [Fact]
    public void Rule_a_memory_limit_the_roster_does_not_set_is_drift()
    {
        var roster = File.ReadAllText(TestFiles.GoldenRoster);
        var observed = System.Text.RegularExpressions.Regex.Replace(roster, @"(\n  bob:\n)", "$1    adopt: true\n");
        Assert.NotEqual(roster, observed);
        var report = DriftTests.InStep();
        foreach (var slice in new[] { "services", "logins" })
        {
            Person(report, "bob")["budget"]![slice]!["memory_high"] = "infinity";
            Person(report, "bob")["budget"]![slice]!["memory_max"] = "infinity";
        }
        Assert.Equal((0, "no drift\n"), DriftTests.Run(report, observed));
        Person(report, "bob")["budget"]!["services"]!["memory_max"] = (3L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal((1, "bob: budget of workstation-bob.slice: expected memory_high infinity, memory_max infinity, cpu_weight 100, tasks_max 4096; " +
            "actual memory_high infinity, memory_max 3G, cpu_weight 100, tasks_max 4096\n1 drift(s)\n"), DriftTests.Run(report, observed));
    }
}

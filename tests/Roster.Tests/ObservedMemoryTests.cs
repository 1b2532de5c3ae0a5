using System.Text.Json.Nodes;

namespace Workstation.Roster.Tests;

/// <summary>
/// Issue 24 §2: a person adopted from a hand-made setup without a memory budget in their entry
/// is observed (no MemoryHigh/MemoryMax) until the roster sets one; the derive, the services
/// step's command and the drift check all say so.
/// </summary>
public class ObservedMemoryTests
{
    private static string Entry(string name, int t3, string extra) => $"""
          {name}:
            authentik_user: {name}.a
            k8s_user: {name}
            email: {name}@example.test
            tier: power-user
            ports: {"{"} t3: {t3}, playwright: {t3 + 5000} {"}"}
        {extra}
        """;

    private static DerivedRoster Derive(string users)
    {
        var result = RosterLoader.Load(TestFiles.Head + users);
        Assert.True(result.Ok, string.Join('\n', result.Errors));
        return Derivation.Derive(result.Model!);
    }

    private static readonly DerivedRoster Roster = Derive(
        Entry("adopted", 3774, "    adopt: true\n") +
        Entry("sized", 3775, "    adopt: true\n    budget: { memory_high: 768M, memory_max: 1G }\n") +
        Entry("cpuonly", 3776, "    adopt: true\n    budget: { cpu_weight: 50 }\n") +
        Entry("fresh", 3777, ""));

    private static DerivedUser Person(string name) => Roster.Users.Single(u => u.OsUser == name);

    [Theory]
    [InlineData("adopted", MemoryLimits.Observed)]
    [InlineData("cpuonly", MemoryLimits.Observed)]
    [InlineData("sized", MemoryLimits.Enforced)]
    [InlineData("fresh", MemoryLimits.Enforced)]
    [InlineData("wiz", MemoryLimits.Enforced)]
    public void S2_Only_an_adopted_person_whose_entry_names_no_memory_size_is_observed(string name, MemoryLimits expected) =>
        Assert.Equal(expected, Person(name).MemoryLimits);

    [Fact]
    public void S2_The_derive_says_observe_for_them_and_enforce_for_the_others()
    {
        var json = JsonNode.Parse(DerivedJson.Write(Roster))!;
        string Memory(string name) => (string)json["users"]![name]!["budget"]!["memory"]!;
        Assert.Equal("observe", Memory("adopted"));
        Assert.Equal("enforce", Memory("sized"));
        Assert.Equal("enforce", Memory("fresh"));
    }

    [Fact]
    public void S2_The_services_step_sends_no_memory_limit_for_an_observed_person_and_the_sizes_for_the_others()
    {
        var observed = HostCommands.Services(Person("adopted"));
        Assert.EndsWith(" user services apply adopted --t3-port 3774 --playwright-port 8774 --observe-memory --cpu-weight 100 --tasks-max 4096", observed, StringComparison.Ordinal);
        Assert.DoesNotContain("--memory-high", observed, StringComparison.Ordinal);
        Assert.EndsWith(" --memory-high 768M --memory-max 1G --cpu-weight 100 --tasks-max 4096", HostCommands.Services(Person("sized")), StringComparison.Ordinal);
        Assert.Contains(" --observe-memory --cpu-weight 50 ", HostCommands.Services(Person("cpuonly")), StringComparison.Ordinal);
    }

    /// <summary>The drift report for one person whose slices both show these memory limits (systemctl's words).</summary>
    private static IReadOnlyList<DriftItem> BudgetDrift(DerivedUser u, string high, string max)
    {
        JsonObject Slice() => new() { ["memory_high"] = high, ["memory_max"] = max, ["cpu_weight"] = u.Budget.CpuWeight.ToString(System.Globalization.CultureInfo.InvariantCulture), ["tasks_max"] = u.Budget.TasksMax.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var person = new JsonObject
        {
            ["user"] = u.OsUser,
            ["state"] = "active",
            ["tier"] = u.Tier.ToYaml(),
            ["groups"] = new JsonArray(),
            ["units"] = new JsonArray(),
            ["ports"] = new JsonObject { ["t3"] = u.Ports.T3, ["playwright"] = u.Ports.Playwright },
            ["listening"] = new JsonObject { ["t3"] = new JsonArray(), ["playwright"] = new JsonArray() },
            ["maps"] = new JsonObject { ["ttyd"] = u.AuthentikUser, ["dispatch"] = null },
            ["drift"] = new JsonArray(),
            ["budget"] = new JsonObject { ["services"] = Slice(), ["logins"] = Slice() },
        };
        using var doc = System.Text.Json.JsonDocument.Parse(new JsonObject { ["people"] = new JsonArray(person) }.ToJsonString());
        return Drift.Check(Roster, doc.RootElement).Where(d => d.OsUser == u.OsUser && d.Fact.StartsWith("budget", StringComparison.Ordinal)).ToList();
    }

    [Fact]
    public void S2_The_drift_check_expects_no_memory_limit_on_an_observed_persons_slices()
    {
        Assert.Empty(BudgetDrift(Person("adopted"), "infinity", "infinity"));
        var limited = BudgetDrift(Person("adopted"), (128L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture), "infinity");
        Assert.Equal(2, limited.Count);
        Assert.All(limited, d => Assert.StartsWith("memory_high infinity, memory_max infinity", d.Expected, StringComparison.Ordinal));
        Assert.Equal(2, BudgetDrift(Person("sized"), "infinity", "infinity").Count);
    }
}

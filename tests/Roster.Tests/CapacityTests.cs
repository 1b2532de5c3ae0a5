namespace Workstation.Roster.Tests;

/// <summary>Budgets per person and the ceiling: what the host can give against what the roster promises.</summary>
public sealed class CapacityTests
{
    private const long G = 1L << 30;

    private static DerivedRoster Derive(string yaml) => Derivation.Derive(RosterLoader.Load(yaml).ModelOrThrow());

    /// <summary>The admin (wiz) and n power-users, u1..un.</summary>
    internal static string People(int n, string? settings = null) =>
        (settings ?? "") + TestFiles.Head + string.Concat(Enumerable.Range(1, n).Select(i => TestFiles.User($"u{i}", 3773 + i, 8931 + i)));

    private static HostCapacity Host(long memory, long swap = 0, long reserve = 2 * G, int warn = 85) => new(memory, swap, reserve, warn);

    [Fact]
    public void Each_tier_gets_its_built_in_budget_and_an_entry_overrides_it_field_by_field()
    {
        var roster = Derive(TestFiles.Head +
            TestFiles.User("pat", 3774, 8932) +
            TestFiles.User("nan", 3775, 8933, tier: "namespace-owner", extra: "    namespaces: [team-n]\n    budget: { memory_max: 7G, tasks_max: 100 }\n"));
        Assert.Equal(Budgets.Defaults[Tier.Admin], roster.Users.Single(u => u.OsUser == "wiz").Budget);
        Assert.Equal(Budgets.Defaults[Tier.PowerUser], roster.Users.Single(u => u.OsUser == "pat").Budget);
        var nan = roster.Users.Single(u => u.OsUser == "nan").Budget;
        Assert.Equal(Budgets.Defaults[Tier.NamespaceOwner] with { MemoryMax = 7 * G, TasksMax = 100 }, nan);
    }

    [Fact]
    public void Settings_budgets_replace_the_built_in_ones_for_that_tier_only()
    {
        var roster = Derive("settings:\n  budgets:\n    power-user: { memory_high: 1G, cpu_weight: 50 }\n" + TestFiles.Head + TestFiles.User("pat", 3774, 8932));
        Assert.Equal(Budgets.Defaults[Tier.PowerUser] with { MemoryHigh = 1 * G, CpuWeight = 50 }, roster.Users.Single(u => u.OsUser == "pat").Budget);
        Assert.Equal(Budgets.Defaults[Tier.Admin], roster.Users.Single(u => u.OsUser == "wiz").Budget);
    }

    [Theory]
    [InlineData("4G", 4L << 30)]
    [InlineData("512M", 512L << 20)]
    [InlineData("1T", 1L << 40)]
    [InlineData("65536K", 64L << 20)]
    [InlineData("1073741824", 1L << 30)]
    public void Sizes_read_as_systemd_reads_them(string text, long bytes)
    {
        Assert.Equal(bytes, Sizes.Parse(text));
    }

    [Theory]
    [InlineData("4GB")]
    [InlineData("4g")]
    [InlineData("1.5G")]
    [InlineData("0")]
    [InlineData("04G")]
    [InlineData("-1G")]
    [InlineData("infinity")]
    [InlineData("50%")]
    [InlineData("9999999999999T")]
    public void Anything_else_is_not_a_size(string text)
    {
        Assert.Null(Sizes.Parse(text));
    }

    [Theory]
    [InlineData(4L << 30, "4G")]
    [InlineData(6144L << 20, "6G")]
    [InlineData(1536L << 20, "1536M")]
    [InlineData(1000, "1000")]
    public void Sizes_are_written_in_the_largest_exact_unit(long bytes, string text)
    {
        Assert.Equal(text, Sizes.Format(bytes));
        Assert.Equal(bytes, Sizes.Parse(text));
    }

    [Fact]
    public void A_roster_within_the_limit_fits()
    {
        // wiz 10G + 2 x 3G = 16G; limit 24G + 0 - 2G = 22G, warning above 18.7G.
        var report = Capacity.Check(Derive(People(2)).Users, Host(24 * G));
        Assert.Equal(CapacityVerdict.Fits, report.Verdict);
        Assert.Equal(16 * G, report.Sum);
        Assert.Equal(22 * G, report.Host.Limit);
    }

    [Fact]
    public void Above_the_warning_threshold_it_warns_with_the_share()
    {
        var report = Capacity.Check(Derive(People(3)).Users, Host(24 * G));
        Assert.Equal(CapacityVerdict.Warn, report.Verdict);
        Assert.Equal(
            "the active people's memory budgets (memory_high) add up to 19G, 86% of the host's limit of 22G (hostMemory 24G + swapSize 0 - memoryReserve 2G), " +
            "above the 85% warning threshold; largest: wiz 10G, u1 3G, u2 3G",
            report.Message);
    }

    [Fact]
    public void Above_the_limit_it_refuses_with_the_sum_the_limit_and_the_largest_contributors()
    {
        var yaml = People(4).Replace("  u3:\n", "  u3:\n    budget: { memory_high: 4608M, memory_max: 6G }\n", StringComparison.Ordinal);
        var report = Capacity.Check(Derive(yaml).Users, Host(24 * G, swap: 2 * G, reserve: 4 * G));
        Assert.Equal(CapacityVerdict.Over, report.Verdict);
        Assert.Equal(
            "the active people's memory budgets (memory_high) add up to 23.5G, above the host's limit of 22G (hostMemory 24G + swapSize 2G - memoryReserve 4G); " +
            "largest: wiz 10G, u3 4.5G, u1 3G. Lower budgets (settings.budgets or an entry's budget:), retire someone, or raise hostMemory or swapSize.",
            report.Message);
    }

    [Fact]
    public void Retired_people_do_not_count()
    {
        var active = Derive(People(3)).Users;
        var retired = Derive(People(2) + "retired:\n  u3: { ports: { t3: 3776, playwright: 8934 } }\n").Users;
        Assert.Equal(active.Sum(u => u.Budget.MemoryHigh) - Budgets.Defaults[Tier.PowerUser].MemoryHigh, retired.Sum(u => u.Budget.MemoryHigh));
        Assert.Equal(CapacityVerdict.Fits, Capacity.Check(retired, Host(24 * G)).Verdict);
    }

    [Theory]
    [InlineData("hostMemory", "24GB", "hostMemory: '24GB' is not a size: a whole number of bytes, or with K, M, G or T (powers of 1024), e.g. 4G")]
    [InlineData("swapSize", "8T", "swapSize: '8T' is not a swap size like 8G or 512M")]
    [InlineData("capacityWarnPercent", "120", "capacityWarnPercent: '120' is not a percentage (1-100)")]
    [InlineData("memoryReserve", "40G", "memoryReserve: the reserve 40G leaves nothing of 24G memory and 0 swap")]
    public void Bad_capacity_config_names_the_key(string key, string value, string expected)
    {
        var config = new Dictionary<string, string> { ["hostMemory"] = "24G", [key] = value };
        var (capacity, errors) = HostCapacity.FromConfig(config.GetValueOrDefault);
        Assert.Null(capacity);
        Assert.Equal([expected], errors.Select(e => $"{e.Key}: {e.Message}"));
    }

    [Fact]
    public void Without_host_memory_there_is_no_ceiling_and_no_error()
    {
        var (capacity, errors) = HostCapacity.FromConfig(new Dictionary<string, string> { ["swapSize"] = "8G" }.GetValueOrDefault);
        Assert.Null(capacity);
        Assert.Empty(errors);
    }
}

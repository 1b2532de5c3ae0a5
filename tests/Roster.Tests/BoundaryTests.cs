using System.Globalization;
using System.Text;

namespace Workstation.Roster.Tests;

/// <summary>
/// Issue 26 §9, tests at the edges: each numeric rule of the roster engine at its limit, one
/// below and one above (the rules the host re-checks as well are in <see cref="HostAgreementTests"/>).
/// docs/roster.md ("Limits, and where they are tested") lists them all.
/// </summary>
public class BoundaryTests
{
    private const long G = 1L << 30;

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);

    /// <summary>A roster of the admin alone, whose promised memory (memory_high) is exactly <paramref name="bytes"/>.</summary>
    private static IReadOnlyList<DerivedUser> AdminPromising(long bytes) =>
        Derivation.Derive(RosterLoader.Load($"settings:\n  budgets:\n    admin: {{ memory_high: {N(bytes)}, memory_max: 16T }}\n" + TestFiles.Head).ModelOrThrow()).Users;

    // hostMemory 102G, no swap, the 2G reserve: a limit of 100G, a multiple of 100, so the 85% threshold is exact.
    private static readonly HostCapacity Host = new(102 * G, 0, 2 * G, 85);

    public static TheoryData<long, CapacityVerdict> CeilingEdges() => new()
    {
        { Host.WarnAt - 1, CapacityVerdict.Fits },
        { Host.WarnAt, CapacityVerdict.Fits },
        { Host.WarnAt + 1, CapacityVerdict.Warn },
        { Host.Limit - 1, CapacityVerdict.Warn },
        { Host.Limit, CapacityVerdict.Warn },
        { Host.Limit + 1, CapacityVerdict.Over },
    };

    /// <summary>The capacity ceiling: promises adding up to the limit exactly still fit (with a warning); one byte more is refused. The warning starts one byte above the threshold.</summary>
    [Theory]
    [MemberData(nameof(CeilingEdges))]
    public void Rule_the_ceiling_refuses_one_byte_above_the_limit_and_warns_one_byte_above_the_threshold(long sum, CapacityVerdict verdict)
    {
        Assert.Equal(100 * G, Host.Limit);
        Assert.Equal(85 * G, Host.WarnAt);
        var report = Capacity.Check(AdminPromising(sum), Host);
        Assert.Equal(sum, report.Sum);
        Assert.Equal(verdict, report.Verdict);
    }

    public static TheoryData<int> Percents() => [0, 1, 2, 99, 100, 101];

    [Theory]
    [MemberData(nameof(Percents))]
    public void Rule_the_capacity_warning_threshold_is_a_percentage_from_1_to_100(int value)
    {
        var (percent, ok) = (N(value), value is >= 1 and <= 100);
        var config = new Dictionary<string, string> { [HostCapacity.Keys.HostMemory] = "24G", [HostCapacity.Keys.WarnPercent] = percent };
        var (capacity, errors) = HostCapacity.FromConfig(config.GetValueOrDefault);
        Assert.Equal(ok, capacity is not null);
        Assert.Equal(ok ? [] : [$"{HostCapacity.Keys.WarnPercent}: '{percent}' is not a percentage (1-100)"], errors.Select(e => $"{e.Key}: {e.Message}"));
        if (ok) Assert.Equal(int.Parse(percent, CultureInfo.InvariantCulture), capacity!.WarnPercent);
    }

    /// <summary>The reserve must leave something of memory and swap: one byte less than both together is the most it may be.</summary>
    [Theory]
    [InlineData(-1, true)]
    [InlineData(0, false)]
    [InlineData(1, false)]
    public void Rule_the_memory_reserve_must_be_below_memory_and_swap_together(long offset, bool ok)
    {
        var config = new Dictionary<string, string>
        {
            [HostCapacity.Keys.HostMemory] = "24G", [HostCapacity.Keys.SwapSize] = "8G", [HostCapacity.Keys.MemoryReserve] = N(32 * G + offset),
        };
        var (capacity, errors) = HostCapacity.FromConfig(config.GetValueOrDefault);
        Assert.Equal(ok, capacity is not null);
        Assert.Equal(ok, errors.Count == 0);
        if (ok) Assert.Equal(1, capacity!.Limit);
    }

    /// <summary>Subordinate ids: every uid of a person's range (MinUid to MaxUid) has a slot, next to its neighbour's; a uid outside has none.</summary>
    [Theory]
    [InlineData(Rules.MinUid - 1, false)]
    [InlineData(Rules.MinUid, true)]
    [InlineData(Rules.MinUid + 1, true)]
    [InlineData(Rules.MaxUid - 1, true)]
    [InlineData(Rules.MaxUid, true)]
    [InlineData(Rules.MaxUid + 1, false)]
    public void Rule_a_uid_has_a_subordinate_slot_exactly_within_the_persons_range(int uid, bool slot)
    {
        if (!slot)
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => Rules.SubIdStart(uid));
            return;
        }
        var start = Rules.SubIdStart(uid);
        Assert.Equal(Rules.SubIdBase + (uid - Rules.MinUid) * Rules.SubIdCount, start);
        Assert.True(start + Rules.SubIdCount - 1 < uint.MaxValue);
        if (uid > Rules.MinUid) Assert.Equal(start, Rules.SubIdStart(uid - 1) + Rules.SubIdCount); // adjacent, never overlapping
    }

    /// <summary>The roster file's size: at the limit it is read, one byte more is refused before parsing.</summary>
    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(1)]
    public void Rule_a_roster_of_the_size_limit_is_read_and_one_byte_more_is_refused(int offset)
    {
        var body = TestFiles.Head + TestFiles.User("pat", 3774, 8932);
        var size = (int)RosterLoader.MaxBytes + offset;
        var padding = size - Encoding.UTF8.GetByteCount(body);
        // Comment lines of at most 1000 bytes (a comment is no scalar, so no length limit applies).
        var sb = new StringBuilder(body);
        while (padding > 0)
        {
            var line = Math.Min(padding, 1000);
            sb.Append('#').Append('x', line - 2).Append('\n');
            padding -= line;
        }
        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        Assert.Equal(size, bytes.Length);
        var result = RosterLoader.Load(bytes, "roster.yaml");
        Assert.Equal(offset <= 0, result.Ok);
        if (offset > 0) Assert.Equal([$"roster.yaml:1:1: (file): the roster is {size} bytes; the limit is {RosterLoader.MaxBytes} bytes"], TestFiles.Show(result));
    }

    /// <summary>A YAML value: 1024 characters are read, 1025 refused (named by field).</summary>
    [Theory]
    [InlineData(1023, true)]
    [InlineData(1024, true)]
    [InlineData(1025, false)]
    public void Rule_a_value_of_1024_characters_is_read_and_one_more_is_refused(int length, bool ok)
    {
        var value = "/" + new string('a', length - 1);
        // A binding name of that length (not a valid one: only the length error is looked for).
        var result = RosterLoader.Load(TestFiles.Head + TestFiles.User("pat", 3774, 8932) +
            $"retired:\n  gone: {{ ports: {{ t3: 3790, playwright: 8990 }}, external_bindings: {{ a: \"{value}\" }} }}\n");
        Assert.Equal(ok, !TestFiles.Show(result).Any(e => e.Contains("value longer than 1024 characters", StringComparison.Ordinal)));
    }

    public static TheoryData<string, string, int, bool> NameLengths() => new()
    {
        // os_user (the users: key): 32 characters.
        { "os_user", "", 31, true }, { "os_user", "", 32, true }, { "os_user", "", 33, false },
        { "authentik_user", "", 63, true }, { "authentik_user", "", 64, true }, { "authentik_user", "", 65, false },
        { "k8s_user", "", 63, true }, { "k8s_user", "", 64, true }, { "k8s_user", "", 65, false },
        // An email's local part (64) and a label of its domain (63).
        { "email", "local", 63, true }, { "email", "local", 64, true }, { "email", "local", 65, false },
        { "email", "domain", 62, true }, { "email", "domain", 63, true }, { "email", "domain", 64, false },
        // A namespace: a DNS-1123 label, 63 characters.
        { "namespaces", "", 62, true }, { "namespaces", "", 63, true }, { "namespaces", "", 64, false },
    };

    /// <summary>The length limits of the names an entry carries, each at the limit, one below and one above, through the loader.</summary>
    [Theory]
    [MemberData(nameof(NameLengths))]
    public void Rule_a_name_at_its_length_limit_is_taken_and_one_character_more_is_refused(string field, string part, int length, bool ok)
    {
        var s = new string('a', length);
        var entry = field switch
        {
            "os_user" => TestFiles.User(s, 3774, 8932),
            "namespaces" => TestFiles.User("pat", 3774, 8932, tier: "namespace-owner", extra: $"    namespaces: [{s}]\n"),
            _ => TestFiles.User("pat", 3774, 8932).Replace(field switch
            {
                "authentik_user" => "authentik_user: pat",
                "k8s_user" => "k8s_user: pat",
                _ => "email: pat@example.test",
            }, field switch
            {
                "email" when part == "local" => $"email: {s}@example.test",
                "email" => $"email: pat@{s}.test",
                _ => $"{field}: {s}",
            }, StringComparison.Ordinal),
        };
        var result = RosterLoader.Load(TestFiles.Head + entry);
        Assert.True(ok == result.Ok, string.Join('\n', TestFiles.Show(result)));
    }

    /// <summary>
    /// Port suggestions at the top of the range: the last free port (MaxPort) is suggested once;
    /// past it the scan goes on from MinPort, never suggesting a port already taken.
    /// </summary>
    [Fact]
    public void Rule_a_port_suggestion_past_the_last_port_goes_on_from_the_first_and_is_never_taken()
    {
        static string Unpinned(string name) => $"  {name}:\n    authentik_user: {name}\n    k8s_user: {name}\n    email: {name}@example.test\n    tier: power-user\n";
        var yaml = $"settings:\n  t3_base_port: {N(Rules.MaxPort - 1)}\n  playwright_base_port: 30000\n" +
            TestFiles.Head.Replace("ports: { t3: 3773, playwright: 8931 }", $"ports: {{ t3: {N(Rules.MaxPort - 1)}, playwright: 30000 }}", StringComparison.Ordinal) +
            Unpinned("bob") + Unpinned("cy");
        Assert.Equal(
        [
            $"roster.yaml:11:5: users.bob.ports: no ports are pinned; pin the next free ports with:  ports: {{ t3: {N(Rules.MaxPort)}, playwright: 30001 }}",
            $"roster.yaml:16:5: users.cy.ports: no ports are pinned; pin the next free ports with:  ports: {{ t3: {N(Rules.MinPort)}, playwright: 30002 }}",
        ], TestFiles.Show(RosterLoader.Load(yaml)));
    }
}

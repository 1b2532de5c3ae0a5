using System.Globalization;

namespace Workstation.Roster;

/// <summary>
/// A person's share of the devvm: the limits of their systemd slice (and of their login
/// sessions' slice). MemoryHigh is where the kernel starts reclaiming (throttling) and is what
/// the roster promises each person; MemoryMax is where their processes are OOM-killed, inside
/// their own slice.
/// </summary>
public sealed record Budget(long MemoryHigh, long MemoryMax, int CpuWeight, int TasksMax);

/// <summary>
/// Whether the host enforces a person's memory budget or only watches it. A person adopted from a
/// hand-made setup whose entry names no memory_high/memory_max is observed: accounting on, no
/// MemoryHigh/MemoryMax, so the first apply never throttles or kills work already running
/// (`workstation adopt plan` measures them and proposes the budget: lines to set).
/// </summary>
public enum MemoryLimits
{
    Enforced,
    Observed,
}

/// <summary>What a `budget:` mapping (a tier's in settings, or an entry's) sets; null: inherited.</summary>
public sealed record BudgetOverride(long? MemoryHigh, long? MemoryMax, int? CpuWeight, int? TasksMax)
{
    public static BudgetOverride None { get; } = new(null, null, null, null);

    /// <summary>Observed when adopted and this entry's budget names no memory size; enforced otherwise.</summary>
    public static MemoryLimits LimitsFor(bool adopt, BudgetOverride? entry) =>
        adopt && entry?.MemoryHigh is null && entry?.MemoryMax is null ? MemoryLimits.Observed : MemoryLimits.Enforced;

    public Budget Over(Budget inherited) => new(
        MemoryHigh ?? inherited.MemoryHigh,
        MemoryMax ?? inherited.MemoryMax,
        CpuWeight ?? inherited.CpuWeight,
        TasksMax ?? inherited.TasksMax);
}

public static class Budgets
{
    private const long G = 1L << 30;

    /// <summary>
    /// The built-in budgets per tier, used where settings.budgets does not say otherwise. Derived in
    /// docs/capacity.md from the measured cost of a person (docs/benchmarks.md): the admin runs
    /// about 20 Claude sessions; a person about 3 to 5.
    /// </summary>
    public static IReadOnlyDictionary<Tier, Budget> Defaults { get; } = new Dictionary<Tier, Budget>
    {
        [Tier.Admin] = new(10 * G, 14 * G, 200, 8192),
        [Tier.PowerUser] = new(3 * G, 5 * G, 100, 4096),
        [Tier.NamespaceOwner] = new(3 * G, 5 * G, 100, 4096),
    };

    /// <summary>Below this a slice can't hold a shell and a Claude session: refused as a typo.</summary>
    public const long MinMemory = 64L << 20;

    /// <summary>Above this a size is a typo (and sums of them stay far from overflowing).</summary>
    public const long MaxMemory = 1L << 44;

    /// <summary>systemd's CPUWeight range.</summary>
    public const int MinCpuWeight = 1, MaxCpuWeight = 10000;

    /// <summary>The kernel's pid_max ceiling; a TasksMax above it means nothing.</summary>
    public const int MinTasksMax = 16, MaxTasksMax = 4194304;

    /// <summary>The roster's field names, in the order docs and host options give them.</summary>
    public static readonly string[] Fields = ["memory_high", "memory_max", "cpu_weight", "tasks_max"];
}

/// <summary>Memory sizes as the roster and systemd write them: bytes, or K, M, G, T (powers of 1024).</summary>
public static class Sizes
{
    private static readonly (char Unit, int Shift)[] Units = [('T', 40), ('G', 30), ('M', 20), ('K', 10)];

    /// <summary>The bytes <paramref name="text"/> stands for, or null when it is not a size (or overflows).</summary>
    public static long? Parse(string text)
    {
        if (!Rules.MemorySize().IsMatch(text)) return null;
        var shift = Units.FirstOrDefault(u => u.Unit == text[^1]).Shift;
        var digits = shift == 0 ? text : text[..^1];
        var n = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        return n > long.MaxValue >> shift ? null : n << shift;
    }

    /// <summary>The exact spelling systemd and the host read: the largest unit that divides the bytes.</summary>
    public static string Format(long bytes)
    {
        foreach (var (unit, shift) in Units)
        {
            if (bytes != 0 && bytes % (1L << shift) == 0)
                return (bytes >> shift).ToString(CultureInfo.InvariantCulture) + unit;
        }
        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>For people: whole units where exact, else gibibytes with one decimal (e.g. 23.5G).</summary>
    public static string Human(long bytes)
    {
        var exact = Format(bytes);
        if (exact.EndsWith('G') || exact.EndsWith('T') || bytes < (1L << 30)) return exact;
        return (bytes / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + "G";
    }
}

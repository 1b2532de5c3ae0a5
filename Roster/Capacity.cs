using System.Globalization;

namespace Workstation.Roster;

/// <summary>
/// What the devvm can give: its memory and swap, less a reserve for the system itself. The
/// stack config declares them (the keys in <see cref="Keys"/>); `roster validate --stack` and
/// the program read the same keys through <see cref="FromConfig"/>.
/// </summary>
/// <param name="WarnPercent">Above this share of the limit the check warns; above the limit it refuses.</param>
public sealed record HostCapacity(long Memory, long Swap, long Reserve, int WarnPercent)
{
    public const long DefaultReserve = 2L << 30;
    public const int DefaultWarnPercent = 85;

    /// <summary>The stack config keys (without the project prefix).</summary>
    public static class Keys
    {
        public const string HostMemory = "hostMemory";
        public const string SwapSize = "swapSize";
        public const string MemoryReserve = "memoryReserve";
        public const string WarnPercent = "capacityWarnPercent";
    }

    /// <summary>What the people's promised memory may add up to.</summary>
    public long Limit => Memory + Swap - Reserve;

    public long WarnAt => Limit / 100 * WarnPercent;

    /// <summary>
    /// Reads the capacity keys. No hostMemory: no capacity (null, and no error): the ceiling is
    /// then not checked, and the program says so. Errors name the key.
    /// </summary>
    public static (HostCapacity? Capacity, IReadOnlyList<(string Key, string Message)> Errors) FromConfig(Func<string, string?> get)
    {
        var errors = new List<(string, string)>();
        long? Size(string key, bool swap)
        {
            if (get(key) is not { Length: > 0 } text) return null;
            // The swap size is also a file the base step creates, with its own narrower pattern.
            var bytes = swap ? (Rules.SwapSize().IsMatch(text) ? Sizes.Parse(text) : null) : Sizes.Parse(text);
            if (bytes is null) errors.Add((key, swap ? $"'{text}' is not a swap size like 8G or 512M" : $"'{text}' is not a size: {SizeHelp}"));
            return bytes;
        }
        var memory = Size(Keys.HostMemory, swap: false);
        var swap = Size(Keys.SwapSize, swap: true) ?? 0;
        var reserve = Size(Keys.MemoryReserve, swap: false) ?? DefaultReserve;
        var warn = DefaultWarnPercent;
        if (get(Keys.WarnPercent) is { Length: > 0 } w &&
            !(int.TryParse(w, NumberStyles.None, CultureInfo.InvariantCulture, out warn) && warn is >= 1 and <= 100))
            errors.Add((Keys.WarnPercent, $"'{w}' is not a percentage (1-100)"));
        if (memory is { } m && reserve >= m + swap)
            errors.Add((Keys.MemoryReserve, $"the reserve {Sizes.Human(reserve)} leaves nothing of {Sizes.Human(m)} memory and {Sizes.Human(swap)} swap"));
        if (errors.Count > 0 || memory is null) return (null, errors);
        return (new HostCapacity(memory.Value, swap, reserve, warn), errors);
    }

    public const string SizeHelp = "a whole number of bytes, or with K, M, G or T (powers of 1024), e.g. 4G";
}

public enum CapacityVerdict { Fits, Warn, Over }

/// <param name="Largest">The biggest contributors to <paramref name="Sum"/>, largest first.</param>
public sealed record CapacityReport(CapacityVerdict Verdict, long Sum, HostCapacity Host, IReadOnlyList<(string OsUser, long MemoryHigh)> Largest)
{
    /// <summary>One line for people: the sum, the limit and how it is made up, the largest contributors.</summary>
    public string Message
    {
        get
        {
            var h = Host;
            var limit = $"{Sizes.Human(h.Limit)} (hostMemory {Sizes.Human(h.Memory)} + swapSize {Sizes.Human(h.Swap)} - memoryReserve {Sizes.Human(h.Reserve)})";
            var largest = "largest: " + string.Join(", ", Largest.Select(l => $"{l.OsUser} {Sizes.Human(l.MemoryHigh)}"));
            var share = (int)(Sum * 100 / Math.Max(1, h.Limit));
            return Verdict switch
            {
                CapacityVerdict.Over => $"the active people's memory budgets (memory_high) add up to {Sizes.Human(Sum)}, above the host's limit of {limit}; {largest}. " +
                                        "Lower budgets (settings.budgets or an entry's budget:), retire someone, or raise hostMemory or swapSize.",
                CapacityVerdict.Warn => $"the active people's memory budgets (memory_high) add up to {Sizes.Human(Sum)}, {share}% of the host's limit of {limit}, " +
                                        $"above the {h.WarnPercent}% warning threshold; {largest}",
                _ => $"the active people's memory budgets (memory_high) add up to {Sizes.Human(Sum)}, {share}% of the host's limit of {limit}",
            };
        }
    }
}

/// <summary>The ceiling: the active people's promised memory (MemoryHigh) must fit what the host can give.</summary>
public static class Capacity
{
    public const int LargestShown = 3;

    public static CapacityReport Check(IEnumerable<DerivedUser> active, HostCapacity host)
    {
        var people = active.Select(u => (u.OsUser, u.Budget.MemoryHigh)).ToList();
        var sum = people.Sum(p => p.MemoryHigh);
        var verdict = sum > host.Limit ? CapacityVerdict.Over : sum > host.WarnAt ? CapacityVerdict.Warn : CapacityVerdict.Fits;
        var largest = people.OrderByDescending(p => p.MemoryHigh).ThenBy(p => p.OsUser, StringComparer.Ordinal).Take(LargestShown).ToList();
        return new CapacityReport(verdict, sum, host, largest);
    }
}

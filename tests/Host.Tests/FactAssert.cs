namespace Host.Tests;

/// <summary>
/// Asserts what a box script reported as `key=value` lines (<see cref="OnboardingTests.Facts"/>):
/// every expected fact is compared, and one failure names each that differs, so a broken step
/// shows all it got wrong at once rather than the first.
/// </summary>
internal static class FactAssert
{
    /// <summary>Each (key, expected value) holds in <paramref name="facts"/>; a missing key fails too.</summary>
    public static void Equal(IReadOnlyDictionary<string, string> facts, params (string Key, string Expected)[] expected)
    {
        Assert.NotEmpty(expected);
        var wrong = expected
            .Where(e => !facts.TryGetValue(e.Key, out var got) || got != e.Expected)
            .Select(e => $"  {e.Key}: expected \"{e.Expected}\", got {(facts.TryGetValue(e.Key, out var got) ? $"\"{got}\"" : "no such fact")}")
            .ToList();
        if (wrong.Count > 0)
            Assert.Fail($"{wrong.Count} of {expected.Length} facts differ:\n{string.Join('\n', wrong)}");
    }
}

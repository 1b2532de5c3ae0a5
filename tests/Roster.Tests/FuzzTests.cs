using System.Diagnostics;
using System.Text;

namespace Workstation.Roster.Tests;

/// <summary>Mutated rosters never crash the engine: Load returns a model or located errors, and never throws.</summary>
public class FuzzTests
{
    private static readonly byte[] Interesting = Encoding.ASCII.GetBytes(":-&*!{}[]'\"\n \t#|>%@?,.\\~0123456789");

    [Theory]
    [InlineData("roster.yaml", 1)]
    [InlineData("roster.yaml", 2)]
    [InlineData("golden", 3)]
    public void Mutated_rosters_never_crash_the_engine(string which, int seed)
    {
        var original = File.ReadAllBytes(which == "golden" ? TestFiles.GoldenRoster : TestFiles.ShippedRoster);
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        var outcomes = new int[2];
        const int iterations = 1500;
        for (var i = 0; i < iterations; i++)
        {
            var bytes = Mutate(original, random, 1 + random.Next(4));
            RosterResult result;
            try
            {
                result = RosterLoader.Load(bytes, "roster.yaml");
            }
            catch (Exception e)
            {
                Assert.Fail($"iteration {i} (seed {seed}) threw {e.GetType().Name}: {e.Message}\ninput (base64): {Convert.ToBase64String(bytes)}");
                return;
            }
            outcomes[result.Ok ? 1 : 0]++;
            if (result.Ok)
            {
                // Whatever got through must derive too.
                DerivedJson.Write(Derivation.Derive(result.Model!));
                continue;
            }
            Assert.NotEmpty(result.Errors);
            foreach (var e in result.Errors)
            {
                Assert.True(e.Line >= 1 && e.Column >= 1 && e.Field.Length > 0 && e.Message.Length > 0,
                    $"iteration {i}: badly located error {e}\ninput (base64): {Convert.ToBase64String(bytes)}");
                Assert.DoesNotContain('\n', e.ToString());
            }
        }
        Assert.True(outcomes[0] > iterations / 2, $"too few mutations were caught: {outcomes[0]} of {iterations}");
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"fuzzing took {clock.Elapsed}");
    }

    private static byte[] Mutate(byte[] input, Random random, int count)
    {
        var bytes = new List<byte>(input);
        for (var n = 0; n < count && bytes.Count > 0; n++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(7))
            {
                case 0: bytes[at] ^= (byte)(1 << random.Next(8)); break;
                case 1: bytes[at] = Interesting[random.Next(Interesting.Length)]; break;
                case 2: bytes.Insert(at, Interesting[random.Next(Interesting.Length)]); break;
                case 3: bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + random.Next(16))); break;
                case 4: bytes.RemoveRange(at, bytes.Count - at); break; // truncate
                case 5: bytes[at] = (byte)random.Next(256); break;
                default:
                    // Duplicate a run of bytes (often whole lines: duplicate keys, extra entries).
                    var length = Math.Min(bytes.Count - at, 1 + random.Next(80));
                    bytes.InsertRange(random.Next(bytes.Count), bytes.GetRange(at, length));
                    break;
            }
        }
        return [.. bytes];
    }

    [Fact]
    public void Pathological_documents_are_refused_quickly()
    {
        string[] inputs =
        [
            new string('[', 500_000),
            new string('{', 500_000),
            string.Concat(Enumerable.Repeat("- ", 200_000)),
            "a: " + new string('x', 4_000_000),
            "a: &a [" + string.Join(',', Enumerable.Repeat("*a", 1000)) + "]",
            TestFiles.Head + string.Concat(Enumerable.Range(0, 50_000).Select(i => $"  k{i}: x\n")),
            TestFiles.Head + string.Concat(Enumerable.Range(0, 20_000).Select(i => $"  dup: {{}}\n")),
            "\"" + new string('\\', 1_000_001) + "\"",
        ];
        foreach (var input in inputs)
        {
            var clock = Stopwatch.StartNew();
            var result = RosterLoader.Load(input);
            Assert.False(result.Ok);
            Assert.NotEmpty(result.Errors);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"{clock.Elapsed} for input starting {input[..Math.Min(40, input.Length)]}");
        }
    }
}

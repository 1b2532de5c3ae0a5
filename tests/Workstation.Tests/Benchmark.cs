using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace Workstation.Tests;

/// <summary>
/// Not a test: builds the program under the test mocks for 10, 100 and 1,000 users, each size in a
/// fresh process so peak memory is its own. Run (the restore flags as for the tests):
///   dotnet run -c Release --project tests/Workstation.Tests -- bench
/// </summary>
public static class Benchmark
{
    private static readonly int[] Sizes = [10, 100, 1000];

    public static async Task<int> Main(string[] args)
    {
        switch (args)
        {
            case ["bench"]:
                return RunAll();
            case ["bench-one", var n]:
                Console.WriteLine(await RunOne(int.Parse(n, CultureInfo.InvariantCulture)));
                return 0;
            default:
                Console.Error.WriteLine("usage: Workstation.Tests bench");
                return 2;
        }
    }

    /// <summary>Timed repetitions per size (after a warm-up); the machine is shared, so min and median are both reported.</summary>
    private const int Repetitions = 5;

    private sealed record Sample(int Users, int Resources, double MinMs, double MedianMs, long AllocatedBytes, long PeakWorkingSet, long HeapAfter)
    {
        public override string ToString() => string.Join('\t', Users, Resources,
            MinMs.ToString("F1", CultureInfo.InvariantCulture), MedianMs.ToString("F1", CultureInfo.InvariantCulture), AllocatedBytes, PeakWorkingSet, HeapAfter);

        public static Sample Parse(string line)
        {
            var f = line.Trim().Split('\t');
            var i = CultureInfo.InvariantCulture;
            return new(int.Parse(f[0], i), int.Parse(f[1], i), double.Parse(f[2], i), double.Parse(f[3], i), long.Parse(f[4], i), long.Parse(f[5], i), long.Parse(f[6], i));
        }
    }

    private static async Task<Sample> RunOne(int users)
    {
        var settings = Fixture.Settings();
        var bundle = Fixture.Bundle;
        var text = Fixture.GeneratedRoster(users);
        // Warm up the JIT and Pulumi's serialisers on a small roster first.
        await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(Fixture.GeneratedRoster(5)), settings, bundle).Outputs);
        GC.Collect();
        GC.WaitForPendingFinalizers();

        var times = new List<double>();
        long allocatedPerRun = 0;
        var resources = 0;
        for (var i = 0; i < Repetitions; i++)
        {
            GC.Collect();
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var clock = Stopwatch.StartNew();
            var run = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(text), settings, bundle).Outputs);
            clock.Stop();
            times.Add(clock.Elapsed.TotalMilliseconds);
            allocatedPerRun = GC.GetTotalAllocatedBytes(precise: true) - allocated;
            resources = run.Registrations.Count;
        }
        times.Sort();
        return new Sample(
            users + 1, // the admin is a workstation too
            resources,
            times[0],
            times[times.Count / 2],
            allocatedPerRun,
            Process.GetCurrentProcess().PeakWorkingSet64,
            GC.GetTotalMemory(forceFullCollection: false));
    }

    private static int RunAll()
    {
        var samples = Sizes.Select(Child).ToList();
        Console.WriteLine($"{Repetitions} timed runs per size after a warm-up, each size in its own process.");
        Console.WriteLine($"host: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {RuntimeInformationText()}");
        Console.WriteLine("| users (+admin) | resources | min time (ms) | median time (ms) | min ms/resource | allocated/run (MiB) | peak working set (MiB) | managed heap after (MiB) | min-time ratio vs previous (x10 users) |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        Sample? previous = null;
        foreach (var s in samples)
        {
            var ratio = previous is null ? "-" : (s.MinMs / previous.MinMs).ToString("F1", CultureInfo.InvariantCulture) + "x";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {s.Users} | {s.Resources} | {s.MinMs:F0} | {s.MedianMs:F0} | {s.MinMs / s.Resources:F2} | {Mib(s.AllocatedBytes):F1} | {Mib(s.PeakWorkingSet):F0} | {Mib(s.HeapAfter):F1} | {ratio} |"));
            previous = s;
        }
        return 0;
    }

    private static Sample Child(int users)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
        start.ArgumentList.Add("bench-one");
        start.ArgumentList.Add(users.ToString(CultureInfo.InvariantCulture));
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"bench-one {users} exited {process.ExitCode}");
        return Sample.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last());
    }

    private static double Mib(long bytes) => bytes / 1024.0 / 1024.0;

    private static string RuntimeInformationText() =>
        System.Runtime.InteropServices.RuntimeInformation.OSDescription + (System.Runtime.GCSettings.IsServerGC ? ", server GC" : ", workstation GC");
}

using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Workstation.Roster;

// Generates rosters of 1,000 / 10,000 / 20,000 users, loads (parses + validates) and derives each
// (model and JSON) a few times, and prints the median time, allocations, peak working set and the
// ratio between sizes. Goal: 10,000 users under 1 s, and time linear in the number of users.

// `-- access-report [PEOPLE]`: the access report on a generated year of roster history instead (AccessReportBench.cs).
if (args.FirstOrDefault() == "access-report")
    return Workstation.RosterBench.AccessReportBench.Run(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2_000, days: 365);

var sizes = args.Length > 0 ? args.Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray() : [1_000, 10_000, 20_000];
const int repetitions = 7;
var inv = CultureInfo.InvariantCulture;

Console.WriteLine($"Roster engine benchmark: {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, {Environment.ProcessorCount} cores, " +
    $"{(Debugger.IsAttached ? "debugger attached" : "no debugger")}, optimized: {IsOptimized()}");
Console.WriteLine($"median of {repetitions} runs after a warm-up; 'all' = load (parse + validate) + derive + JSON; 'cpu' = process CPU time for 'all' (all threads, GC included)");
Console.WriteLine($"load average at start: {LoadAverage()}");
Console.WriteLine();
Console.WriteLine($"{"scenario",-28} {"users",7} {"bytes",10} {"load ms",9} {"derive ms",10} {"json ms",9} {"all ms",9} {"cpu ms",9} {"alloc MB",9} {"peak WS MB",11}");

var results = new List<(string Scenario, int Users, double Ms, double Cpu)>();
foreach (var (scenario, pinned) in new[] { ("valid, all pinned", true), ("no pins (errors + suggestions)", false) })
{
    // Warm up until the JIT has settled (tiered compilation promotes hot code after a few runs).
    for (var i = 0; i < 8; i++) Run(scenario, sizes[0], pinned, warmUpOnly: true);
    foreach (var n in sizes)
    {
        var (wall, cpu) = Run(scenario, n, pinned, warmUpOnly: false);
        results.Add((scenario, n, wall, cpu));
    }
}

Console.WriteLine();
foreach (var group in results.GroupBy(r => r.Scenario))
{
    var list = group.ToList();
    for (var i = 1; i < list.Count; i++)
    {
        var sizeRatio = (double)list[i].Users / list[i - 1].Users;
        var timeRatio = list[i].Ms / list[i - 1].Ms;
        var cpuRatio = list[i].Cpu / list[i - 1].Cpu;
        Console.WriteLine($"{group.Key}: {list[i].Users:N0} vs {list[i - 1].Users:N0} users: {sizeRatio.ToString("0.0", inv)}x the users, " +
            $"{timeRatio.ToString("0.00", inv)}x the time, {cpuRatio.ToString("0.00", inv)}x the CPU time");
    }
}
var tenK = results.FirstOrDefault(r => r.Scenario == "valid, all pinned" && r.Users == 10_000);
Console.WriteLine($"load average at end: {LoadAverage()}");
if (tenK.Users > 0)
    Console.WriteLine($"goal (10,000 users under 1 s): {(tenK.Ms < 1000 ? "met" : "NOT met")} ({tenK.Ms.ToString("0", inv)} ms elapsed, {tenK.Cpu.ToString("0", inv)} ms CPU)");
return 0;

(double Wall, double Cpu) Run(string scenario, int n, bool pinned, bool warmUpOnly)
{
    var bytes = Encoding.UTF8.GetBytes(Generate(n, pinned));
    var load = new List<double>();
    var derive = new List<double>();
    var json = new List<double>();
    var all = new List<double>();
    var cpu = new List<double>();
    var allocated = new List<long>();
    for (var rep = 0; rep < (warmUpOnly ? 1 : repetitions); rep++)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var result = RosterLoader.Load(bytes, "roster.yaml");
        var t1 = clock.Elapsed.TotalMilliseconds;
        if (pinned && !result.Ok) throw new InvalidOperationException("generated roster is invalid: " + result.Errors[0]);
        if (!pinned && result.Errors.Count != n) throw new InvalidOperationException($"expected {n} errors, got {result.Errors.Count}");
        var t2 = t1;
        var t3 = t1;
        if (result.Ok)
        {
            var derived = Derivation.Derive(result.Model!);
            t2 = clock.Elapsed.TotalMilliseconds;
            var text = DerivedJson.Write(derived);
            t3 = clock.Elapsed.TotalMilliseconds;
            if (text.Length == 0) throw new InvalidOperationException();
        }
        clock.Stop();
        cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds);
        allocated.Add(GC.GetTotalAllocatedBytes(precise: true) - before);
        load.Add(t1);
        derive.Add(t2 - t1);
        json.Add(t3 - t2);
        all.Add(t3);
    }
    if (warmUpOnly) return (0, 0);
    using var self = Process.GetCurrentProcess();
    self.Refresh();
    Console.WriteLine($"{scenario,-28} {n,7:N0} {bytes.Length,10:N0} {Median(load),9:F1} {Median(derive),10:F1} {Median(json),9:F1} {Median(all),9:F1} {Median(cpu),9:F1} " +
        $"{Median(allocated.Select(a => a / 1048576.0)),9:F1} {self.PeakWorkingSet64 / 1048576.0,11:F0}");
    return (Median(all), Median(cpu));
}

static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

static double Median(IEnumerable<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

static bool IsOptimized() =>
    typeof(RosterLoader).Assembly.GetCustomAttributes(typeof(DebuggableAttribute), false) is not [DebuggableAttribute { IsJITOptimizerDisabled: true }];

// A roster shaped like the real one: a third each of plain power users, power users with a uid,
// and namespace-owners with two namespaces and an external binding; some retired users.
static string Generate(int n, bool pinned)
{
    var sb = new StringBuilder(n * 220);
    sb.Append("settings:\n  t3_base_port: 10000\n  playwright_base_port: 35000\n  deny_users: [guest, temp]\n  k8s_username_claim: email\n");
    sb.Append("admin:\n  os_user: wiz\n  authentik_user: wiz.admin\n  k8s_user: wiz\n  uid: 1000\n  adopt: true\n  ports: { t3: 10000, playwright: 35000 }\n");
    sb.Append("users:\n");
    for (var i = 1; i <= n; i++)
    {
        var name = "u" + i.ToString("D6", CultureInfo.InvariantCulture);
        sb.Append(CultureInfo.InvariantCulture, $"  {name}:\n    authentik_user: {name}.sso\n    k8s_user: {name}\n    email: {name}@example.test\n");
        switch (i % 3)
        {
            case 0:
                sb.Append("    tier: power-user\n");
                break;
            case 1:
                sb.Append(CultureInfo.InvariantCulture, $"    tier: power-user\n    uid: {1000 + i}\n");
                break;
            default:
                sb.Append(CultureInfo.InvariantCulture, $"    tier: namespace-owner\n    namespaces: [ns-{name}, shared-{name}]\n    external_bindings: {{ shared-{name}: owners-{name} }}\n");
                break;
        }
        if (pinned) sb.Append(CultureInfo.InvariantCulture, $"    ports: {{ t3: {10000 + i}, playwright: {35000 + i} }}\n");
    }
    sb.Append("retired:\n");
    for (var i = 1; i <= Math.Max(1, n / 100); i++)
        sb.Append(CultureInfo.InvariantCulture, $"  gone{i}: {{ uid: {59999 - i}, ports: {{ t3: {65535 - i}, playwright: {34999 - i} }} }}\n");
    return sb.ToString();
}

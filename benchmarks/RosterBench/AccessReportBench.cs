using System.Diagnostics;
using System.Globalization;
using System.Text;
using Workstation.Roster.Report;

namespace Workstation.RosterBench;

/// <summary>
/// `roster access-report` on a 2,000-person roster with a year of history: a git repository made
/// with `git fast-import` (seconds, not minutes), where main starts with 1,000 people and every
/// day of a year brings PRs, each a branch commit merged with a merge commit as a forge makes
/// it: onboardings, changes to existing entries, retirements. Then the report, timed, in each
/// format. Goal: under 10 s.
/// </summary>
internal static class AccessReportBench
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(int people, int days)
    {
        var dir = Directory.CreateTempSubdirectory("access-report-bench-").FullName;
        try
        {
            var clock = Stopwatch.StartNew();
            var (commits, bytes) = Generate(dir, people, days);
            var roster = Path.Combine(dir, "roster.yaml");
            Git(dir, "checkout", "-q", "main");
            Console.WriteLine($"generated: {people:N0} people at the end, {days} days, {commits:N0} commits ({commits / 2:N0} merged PRs), " +
                $"{new FileInfo(roster).Length / 1024.0:N0} KB roster, {bytes / 1048576.0:N0} MB of roster versions, in {clock.Elapsed.TotalSeconds:0.0} s");
            Console.WriteLine($"load average before: {LoadAverage()}");
            Console.WriteLine($"{"format",-8} {"elapsed s",10} {"cpu s (this process)",21} {"cpu s (git)",12} {"output KB",10}");
            var worst = 0.0;
            foreach (var format in new[] { "json", "md", "csv", "json" })
            {
                using var self = Process.GetCurrentProcess();
                var cpu = self.TotalProcessorTime;
                var children = ChildrenCpu();
                var watch = Stopwatch.StartNew();
                using var stdout = new StringWriter();
                using var stderr = new StringWriter();
                var code = AccessReportCli.Run([roster, "--format", format], stdout, stderr);
                watch.Stop();
                self.Refresh();
                if (code != 0) throw new InvalidOperationException($"access-report failed: {stderr}");
                worst = Math.Max(worst, watch.Elapsed.TotalSeconds);
                Console.WriteLine($"{format,-8} {watch.Elapsed.TotalSeconds,10:0.00} {(self.TotalProcessorTime - cpu).TotalSeconds,21:0.00} {ChildrenCpu() - children,12:0.00} {stdout.ToString().Length / 1024.0,10:N0}");
            }
            // The history walk alone (two git processes and the fingerprints), the rest being the roster's load, derive and output.
            var walk = Stopwatch.StartNew();
            var history = RosterHistories.Read(roster, File.ReadAllText(roster));
            Console.WriteLine($"history walk alone: {walk.Elapsed.TotalSeconds:0.00} s for {history.Entries.Count:N0} entries");
            if (Environment.GetEnvironmentVariable("ROSTERBENCH_KEEP") is { Length: > 0 } keep) Git(dir, "clone", "-q", "--mirror", dir, keep);
            Console.WriteLine($"load average after: {LoadAverage()}");
            Console.WriteLine($"goal (under 10 s): {(worst < 10 ? "met" : "NOT met")} (slowest run {worst.ToString("0.00", Inv)} s)");
            return worst < 10 ? 0 : 1;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private sealed record Entry(string Name, int I, string Tier, bool Retired);

    private static string Text(List<Entry> entries)
    {
        var sb = new StringBuilder(entries.Count * 220);
        sb.Append("settings:\n  t3_base_port: 10000\n  playwright_base_port: 35000\n  k8s_username_claim: email\n");
        sb.Append("admin:\n  os_user: wiz\n  authentik_user: wiz.admin\n  k8s_user: wiz\n  uid: 1000\n  adopt: true\n  ports: { t3: 10000, playwright: 35000 }\n");
        sb.Append("users:\n");
        foreach (var e in entries.Where(e => !e.Retired))
        {
            sb.Append(Inv, $"  {e.Name}:\n    authentik_user: {e.Name}.sso\n    k8s_user: {e.Name}\n    email: {e.Name}@example.test\n    tier: {e.Tier}\n");
            if (e.Tier == "namespace-owner") sb.Append(Inv, $"    namespaces: [ns-{e.Name}]\n    external_bindings: {{ ns-{e.Name}: owners-{e.Name} }}\n");
            sb.Append(Inv, $"    uid: {2000 + e.I}\n    ports: {{ t3: {10000 + e.I}, playwright: {35000 + e.I} }}\n");
        }
        var retired = entries.Where(e => e.Retired).ToList();
        sb.Append(retired.Count == 0 ? "retired: {}\n" : "retired:\n");
        foreach (var e in retired)
            sb.Append(Inv, $"  {e.Name}:\n    uid: {2000 + e.I}\n    authentik_user: {e.Name}.sso\n    ports: {{ t3: {10000 + e.I}, playwright: {35000 + e.I} }}\n");
        return sb.ToString();
    }

    /// <summary>The repository, through one `git fast-import`: returns the number of commits and the bytes of roster versions written.</summary>
    private static (int Commits, long Bytes) Generate(string dir, int people, int days)
    {
        Git(dir, "init", "-q", "-b", "main");
        var psi = new ProcessStartInfo("git", ["-C", dir, "fast-import", "--quiet"]) { RedirectStandardInput = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var input = p.StandardInput;
        input.NewLine = "\n";
        var random = new Random(28);
        var entries = Enumerable.Range(1, people / 2).Select(i => new Entry(Name(i), i, i % 3 == 0 ? "namespace-owner" : "power-user", false)).ToList();
        var start = new DateTimeOffset(2026, 1, 1, 9, 0, 0, TimeSpan.Zero);
        var mark = 0;
        var commits = 0;
        long bytes = 0;
        int? mainTip = null;

        int Commit(string branch, string text, string message, string who, DateTimeOffset when, params int[] parents)
        {
            var data = Encoding.UTF8.GetBytes(text);
            bytes += data.Length;
            var m = ++mark;
            input.WriteLine($"commit refs/heads/{branch}");
            input.WriteLine($"mark :{m}");
            input.WriteLine($"author {who} <{who}@example.test> {when.ToUnixTimeSeconds()} +0000");
            input.WriteLine($"committer {who} <{who}@example.test> {when.ToUnixTimeSeconds()} +0000");
            var msg = Encoding.UTF8.GetBytes(message);
            input.WriteLine($"data {msg.Length}");
            input.Flush();
            input.BaseStream.Write(msg);
            input.WriteLine();
            if (parents.Length > 0) input.WriteLine($"from :{parents[0]}");
            foreach (var extra in parents.Skip(1)) input.WriteLine($"merge :{extra}");
            input.WriteLine($"M 100644 inline roster.yaml");
            input.WriteLine($"data {data.Length}");
            input.Flush();
            input.BaseStream.Write(data);
            input.WriteLine();
            commits++;
            return m;
        }

        mainTip = Commit("main", Text(entries), "Roster: the first people", "admin", start.AddDays(-1));
        var next = people / 2 + 1;
        var pr = 0;
        // Spread the other half of the people over the year, with changes and retirements between.
        var perDay = Math.Max(1, (people - people / 2 + days - 1) / days);
        for (var day = 0; day < days; day++)
        {
            var when = start.AddDays(day);
            var batch = new List<(string Title, Action Apply)>();
            for (var k = 0; k < perDay && next <= people; k++)
            {
                var i = next++;
                batch.Add(($"Onboard {Name(i)}", () => entries.Add(new Entry(Name(i), i, i % 3 == 0 ? "namespace-owner" : "power-user", false))));
            }
            var active = entries.Where(e => !e.Retired).ToList();
            var changed = active[random.Next(active.Count)];
            batch.Add(($"{changed.Name}: tier", () => entries[entries.IndexOf(changed)] = changed with { Tier = changed.Tier == "power-user" ? "namespace-owner" : "power-user" }));
            if (day % 3 == 0)
            {
                var leaver = active[random.Next(active.Count)];
                if (leaver != changed) batch.Add(($"Retire {leaver.Name}", () => entries[entries.IndexOf(leaver)] = leaver with { Retired = true }));
            }
            foreach (var (title, apply) in batch)
            {
                apply();
                var n = ++pr;
                var branch = $"pr-{n}";
                var text = Text(entries);
                var change = Commit(branch, text, title, "dev" + (n % 17).ToString(Inv), when.AddMinutes(n % 600), mainTip.Value);
                mainTip = Commit("main", text, $"Merge pull request #{n} from team/{branch}\n\n{title}\n", "lead" + (n % 3).ToString(Inv), when.AddMinutes(n % 600 + 5), mainTip.Value, change);
            }
        }
        input.Close();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("git fast-import failed");
        return (commits, bytes);
    }

    /// <summary>The CPU seconds of this process's finished children (git): /proc/self/stat's cutime + cstime, in clock ticks of 1/100 s.</summary>
    private static double ChildrenCpu()
    {
        if (!File.Exists("/proc/self/stat")) return 0;
        var stat = File.ReadAllText("/proc/self/stat");
        var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(f[13], Inv) + long.Parse(f[14], Inv)) / 100.0;
    }

    private static string Name(int i) => "u" + i.ToString("D5", Inv);

    private static void Git(string dir, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo("git", ["-C", dir, .. args]) { UseShellExecute = false })!;
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"git {string.Join(' ', args)} failed");
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}

using System.Diagnostics;

namespace Workstation.Roster.Tests;

/// <summary>Runs a program (bash with a script, a linter) for the script tests and captures what it printed.</summary>
internal static class Processes
{
    /// <summary>
    /// Runs <paramref name="file"/> with <paramref name="args"/>; <paramref name="environment"/> sets
    /// variables over the test's own (a null value removes one). Fails the test when it runs longer than <paramref name="seconds"/>.
    /// </summary>
    public static (int Code, string Out, string Err) Run(string file, IEnumerable<string> args,
        IReadOnlyDictionary<string, string?>? environment = null, int seconds = 60)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) psi.Environment.Remove(name);
            else psi.Environment[name] = value;
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(seconds)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', psi.ArgumentList)} did not finish in {seconds} s");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}

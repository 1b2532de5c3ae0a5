using System.Diagnostics;

namespace Workstation.Roster.Tests;

/// <summary>What one local run of host bash printed.</summary>
internal sealed record BashResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// The host layer's pure parts, run on this machine without a box: the repository's host/ CLI
/// and host/lib functions in a local bash. Everything runs unprivileged (as nobody when the tests
/// run as root) in a clean environment, so a check that lets a bad value through can't touch
/// this machine: it reaches the CLI's require_root (exit 1) or a write root alone may make.
/// </summary>
internal static class HostBash
{
    private static readonly Lazy<string> Tree = new(CopyHostTree);

    /// <summary>The local copy of a file of host/lib (for a script that runs one itself).</summary>
    public static string LibFile(string name) => Path.Combine(Tree.Value, "host", "lib", name);

    /// <summary>
    /// Runs a command line the program would send (it starts with <see cref="HostCommands.Cli"/>)
    /// with the local host/bin/workstation in that place, in bash, as a login shell in the box would.
    /// </summary>
    public static BashResult Cli(string commandLine, string? stdin = null, int seconds = 30)
    {
        var prefix = HostCommands.Cli + " ";
        Assert.StartsWith(prefix, commandLine, StringComparison.Ordinal);
        var local = Path.Combine(Tree.Value, "host", "bin", "workstation") + " " + commandLine[prefix.Length..];
        return Run(local, [], stdin, seconds);
    }

    /// <summary>
    /// Runs SCRIPT in bash after sourcing host/lib's common.sh, validate.sh and <paramref name="libs"/>
    /// (file names in host/lib); <paramref name="args"/> are its $1.... A test overrides, after the
    /// sourcing, the functions that would reach the machine (require_root, lock, the writes).
    /// </summary>
    /// <summary>Lib's stdout, for a script that must exit 0 (its output and errors in the failure otherwise).</summary>
    public static string LibStdout(string[] libs, string script, int seconds = 30)
    {
        var r = Lib(libs, script, seconds: seconds);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.Stdout;
    }

    public static BashResult Lib(string[] libs, string script, IEnumerable<string>? args = null, string? stdin = null, int seconds = 30)
    {
        var lib = Path.Combine(Tree.Value, "host", "lib");
        var sources = string.Concat(new[] { "common.sh", "validate.sh" }.Concat(libs).Distinct()
            .Select(f => $"source {HostCommands.Quote(Path.Combine(lib, f))}\n"));
        return Run("set -euo pipefail\n" + sources + script, args ?? [], stdin, seconds);
    }

    private static BashResult Run(string script, IEnumerable<string> args, string? stdin, int seconds)
    {
        var psi = new ProcessStartInfo(Environment.IsPrivilegedProcess ? "setpriv" : "env")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (Environment.IsPrivilegedProcess)
        {
            foreach (var a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "--", "env" }) psi.ArgumentList.Add(a);
        }
        // A clean environment: what a fresh SSH session's root shell would have, and no more.
        foreach (var a in new[] { "-i", "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LC_ALL=C", "HOME=/nonexistent", "bash", "-c", script, "bash" })
            psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        if (!p.WaitForExit(TimeSpan.FromSeconds(seconds)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"host bash did not finish in {seconds} s: {script}");
        }
        return new BashResult(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// host/ copied once per test run into a folder everyone may read (the checkout may not be
    /// readable by nobody); removed when the test process ends.
    /// </summary>
    private static string CopyHostTree()
    {
        var dir = Directory.CreateTempSubdirectory("ws-host-tree-");
        var source = Path.Combine(TestFiles.Root, "host");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(dir.FullName, "host", Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        foreach (var d in Directory.EnumerateDirectories(dir.FullName, "*", SearchOption.AllDirectories).Append(dir.FullName))
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(d, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { dir.Delete(recursive: true); } catch (IOException) { }
        };
        return dir.FullName;
    }
}

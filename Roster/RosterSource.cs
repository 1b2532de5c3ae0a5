using System.Diagnostics;

namespace Workstation.Roster;

/// <summary>Where `roster diff` reads a roster from: a file, or a git revision of one (REV:PATH).</summary>
public static class RosterSource
{
    /// <summary>The text, or null and why not. A path that exists is a file; otherwise REV:PATH goes to `git show`.</summary>
    public static (string? Text, string? Why) Read(string name)
    {
        if (File.Exists(name)) return (File.ReadAllText(name), null);
        var colon = name.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == name.Length - 1 || name.StartsWith('-'))
            return (null, $"{name}: no such file, and not a git revision of one (REV:PATH)");
        var psi = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("show");
        psi.ArgumentList.Add("--end-of-options");
        psi.ArgumentList.Add(name);
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0 ? (stdout.Result, null) : (null, $"{name}: git show failed: {stderr.Trim()}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (null, $"{name}: git is not available ({e.Message})");
        }
    }
}

using System.Diagnostics;
using System.Text;

namespace Workstation.Roster.Report;

/// <summary>Why a git read stopped: it failed, ran too long, or said more than the bound.</summary>
public sealed class GitException(string message) : Exception(message);

/// <summary>
/// git as a child process, bounded in time and output: the history it reads is whatever was
/// pushed, so a huge or hostile repository stops the report with a clear error, never a hang.
/// Arguments go through ArgumentList (no shell), revisions after --end-of-options.
/// </summary>
public sealed class GitProcess : IDisposable
{
    private readonly Process _p;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TimeSpan _timeout;
    private readonly long _maxBytes;
    private readonly string _what;
    private readonly Task<string> _stderr;
    private long _read;

    private GitProcess(string dir, IReadOnlyList<string> args, TimeSpan timeout, long maxBytes, bool stdin)
    {
        _timeout = timeout;
        _maxBytes = maxBytes;
        _what = "git " + string.Join(' ', args.Take(2));
        var psi = new ProcessStartInfo("git")
        {
            WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin, UseShellExecute = false,
        };
        // Only this repository's own settings and no pager, prompt or locale surprises.
        psi.Environment["GIT_TERMINAL_PROMPT"] = "0";
        psi.Environment["GIT_PAGER"] = "cat";
        psi.Environment["LC_ALL"] = "C";
        psi.Environment.Remove("GIT_DIR");
        psi.Environment.Remove("GIT_WORK_TREE");
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            _p = Process.Start(psi) ?? throw new GitException("git did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new GitException($"git is not available ({e.Message})");
        }
        _stderr = _p.StandardError.ReadToEndAsync();
    }

    public static GitProcess Start(string dir, IReadOnlyList<string> args, TimeSpan timeout, long maxBytes, bool stdin = false) =>
        new(dir, args, timeout, maxBytes, stdin);

    /// <summary>Runs git to the end: its whole stdout (UTF-8), or a GitException (exit code, time or size).</summary>
    public static string Run(string dir, IReadOnlyList<string> args, TimeSpan timeout, long maxBytes)
    {
        using var git = Start(dir, args, timeout, maxBytes);
        using var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = git.Read(buffer, 0, buffer.Length)) > 0) all.Write(buffer, 0, n);
        git.Finish();
        return Encoding.UTF8.GetString(all.GetBuffer(), 0, (int)all.Length);
    }

    public Stream Stdin => _p.StandardInput.BaseStream;

    /// <summary>Reads up to count bytes of stdout, counting them against the bound and the clock; 0 at the end.</summary>
    public int Read(byte[] buffer, int offset, int count)
    {
        var read = _p.StandardOutput.BaseStream.ReadAsync(buffer, offset, count);
        var left = _timeout - _clock.Elapsed;
        if (left <= TimeSpan.Zero || !read.Wait(left)) Stop($"{_what} took longer than {_timeout.TotalSeconds:0} s");
        _read += read.Result;
        if (_read > _maxBytes) Stop($"{_what} printed more than {_maxBytes} bytes");
        return read.Result;
    }

    /// <summary>Waits for the exit: a non-zero one is an error with git's own first line.</summary>
    public void Finish()
    {
        var left = _timeout - _clock.Elapsed;
        if (left <= TimeSpan.Zero || !_p.WaitForExit(left)) Stop($"{_what} took longer than {_timeout.TotalSeconds:0} s");
        _p.WaitForExit();
        if (_p.ExitCode != 0)
        {
            var err = _stderr.Wait(TimeSpan.FromSeconds(2)) ? _stderr.Result : "";
            throw new GitException($"{_what} failed (exit {_p.ExitCode}): {FirstLine(err)}");
        }
    }

    private static string FirstLine(string text)
    {
        var line = text.Trim().Split('\n')[0];
        return line.Length > 300 ? line[..300] : line;
    }

    private void Stop(string why)
    {
        Kill();
        throw new GitException(why);
    }

    private void Kill()
    {
        try
        {
            if (!_p.HasExited) _p.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It ended on its own meanwhile.
        }
    }

    public void Dispose()
    {
        Kill();
        _p.Dispose();
    }
}

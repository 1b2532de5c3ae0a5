using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Workstation.Roster.Report;

/// <summary>
/// A commit as the report cites it. Pr: the pull request number the message names (a forge's
/// merge or squash message); ReviewedBy: the message's `Reviewed-by:` trailers (Forgejo writes
/// them on merge). For a merge commit the author is who merged.
/// </summary>
public sealed record CommitInfo(string Sha, int Parents, string Author, string AuthorEmail, DateTimeOffset AuthorDate, DateTimeOffset CommitDate,
    string Subject, int? Pr, IReadOnlyList<string> ReviewedBy)
{
    public bool IsMerge => Parents > 1;
}

/// <summary>
/// Where an entry's current text comes from. LastChange: the newest commit that changed it;
/// Since: the commit from which it has been there without a break (for a leaver, the retire).
/// Uncommitted: the file on disk differs from the last commit (then LastChange is null).
/// </summary>
public sealed record EntryEvidence(CommitInfo? LastChange, CommitInfo? Since, bool Uncommitted, bool UncommittedSince = false);

/// <summary>The history as read: HEAD, each entry's evidence, the first-parent line of HEAD (for --previous), or why there is none.</summary>
public sealed record RosterHistory(string? Head, IReadOnlyDictionary<string, EntryEvidence> Entries, IReadOnlySet<string> FirstParentLine, string? Why)
{
    public static RosterHistory None(string why) => new(null, new Dictionary<string, EntryEvidence>(), new HashSet<string>(), why);
}

/// <summary>
/// Reads the roster file's history in two git processes, whatever the number of people: one
/// `git log --first-parent --raw` for the commits that touched the file (the merges on main,
/// each against its first parent) and one `git cat-file --batch` streaming each version, newest
/// first. Each version is cut into entries (<see cref="RosterEntries"/>) and an entry's evidence
/// is the newest commit where its text differs from the version before: by content, so a commit that touched the file for someone else is not cited for this person.
/// The walk stops as soon as every current entry is placed.
/// </summary>
public static partial class RosterHistories
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>Bound on git log's output (messages included) and on all versions read together.</summary>
    public const long MaxLogBytes = 256L * 1024 * 1024;

    public const long MaxBlobBytes = 4L * 1024 * 1024 * 1024;

    private const char Rec = '\u001e', Field = '\u001f';

    public static RosterHistory Read(string rosterPath, string currentText)
    {
        var full = Path.GetFullPath(rosterPath);
        var dir = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        string top;
        try
        {
            top = GitProcess.Run(dir, ["rev-parse", "--show-toplevel"], TimeSpan.FromSeconds(20), 64 * 1024).Trim();
        }
        catch (GitException e)
        {
            return RosterHistory.None($"{rosterPath} is not in a git repository ({e.Message})");
        }
        var head = GitProcess.Run(dir, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], TimeSpan.FromSeconds(20), 1024).Trim();
        var commits = Log(dir, name);
        var line = GitProcess.Run(dir, ["rev-list", "--first-parent", "HEAD"], Timeout, MaxLogBytes)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        var entries = Walk(top, currentText, commits);
        return new RosterHistory(head, entries, line, null);
    }

    private sealed record Version(CommitInfo Commit, string? Blob);

    /// <summary>The first-parent commits that changed the file, newest first, with the file's blob after each (null: deleted).</summary>
    private static List<Version> Log(string dir, string name)
    {
        var text = GitProcess.Run(dir,
            ["log", "--first-parent", "--no-abbrev", "--no-renames", "--no-color", "--raw", "--format=%x1e%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cI%x1f%B%x1f", "HEAD", "--", ":(literal)" + name],
            Timeout, MaxLogBytes);
        var versions = new List<Version>();
        foreach (var record in text.Split(Rec, StringSplitOptions.RemoveEmptyEntries))
        {
            var f = record.Split(Field);
            if (f.Length < 8) continue;
            string? blob = null;
            foreach (var raw in f[7].Split('\n'))
            {
                // :100644 100644 OLD NEW M\tpath
                if (!raw.StartsWith(':')) continue;
                var parts = raw.Split('\t')[0].Split(' ');
                if (parts.Length >= 5) blob = parts[3].Trim('0').Length == 0 ? null : parts[3];
            }
            versions.Add(new Version(Commit(f), blob));
        }
        return versions;
    }

    private static CommitInfo Commit(string[] f)
    {
        var message = f[6];
        var subject = message.Split('\n')[0].Trim();
        var pr = PrNumber(message);
        var reviewers = ReviewedBy().Matches(message).Select(m => m.Groups[1].Value.Trim()).Distinct(StringComparer.Ordinal).ToList();
        return new CommitInfo(f[0].Trim(), f[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Length, f[2], f[3],
            DateTimeOffset.Parse(f[4], CultureInfo.InvariantCulture), DateTimeOffset.Parse(f[5], CultureInfo.InvariantCulture), subject, pr, reviewers);
    }

    /// <summary>
    /// The pull request a message names: GitHub's "Merge pull request #12 from ...", Forgejo's
    /// "Merge pull request 'title' (#12) from ...", a squash's "title (#12)", or a Reviewed-on URL.
    /// </summary>
    public static int? PrNumber(string message)
    {
        var subject = message.Split('\n')[0];
        var m = MergePr().Match(subject);
        if (!m.Success) m = SquashPr().Match(subject);
        if (!m.Success) m = ReviewedOn().Match(message);
        return m.Success && int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
    }

    [GeneratedRegex(@"^Merge pull request (?:'.*' \()?#(\d{1,9})\b")]
    private static partial Regex MergePr();

    [GeneratedRegex(@"\(#(\d{1,9})\)\s*$")]
    private static partial Regex SquashPr();

    [GeneratedRegex(@"(?m)^Reviewed-on: \S+/pulls?/(\d{1,9})\s*$")]
    private static partial Regex ReviewedOn();

    [GeneratedRegex(@"(?m)^Reviewed-by: (.{1,200})$")]
    private static partial Regex ReviewedBy();

    private sealed class Place
    {
        public required byte[] Text;
        public CommitInfo? LastChange;
        public CommitInfo? Since;
        public bool LastFound, Uncommitted, UncommittedSince;
    }

    /// <summary>The walk: versions newest first, each compared with the current text, entry by entry.</summary>
    private static Dictionary<string, EntryEvidence> Walk(string top, string currentText, List<Version> versions)
    {
        var open = RosterEntries.Entries(currentText).ToDictionary(e => e.Key, e => new Place { Text = e.Value }, StringComparer.Ordinal);
        var all = new Dictionary<string, Place>(open, StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var closed = new List<string>();
        CommitInfo? newer = null; // the commit whose version the previous step looked at (null: the file on disk)
        using var batch = versions.Count == 0 ? null : GitProcess.Start(top, ["cat-file", "--batch"], Timeout, MaxBlobBytes, stdin: true);
        var feeder = batch is null ? Task.CompletedTask : Task.Run(() => Feed(batch, versions));
        var reader = batch is null ? null : new BatchReader(batch);
        try
        {
            foreach (var v in versions)
            {
                if (open.Count == 0) break;
                seen.Clear();
                closed.Clear();
                RosterEntries.Scan(v.Blob is null ? [] : reader!.Next(v.Blob), (key, text) =>
                {
                    if (!open.TryGetValue(key, out var place)) return;
                    seen.Add(key);
                    if (!place.LastFound && !text.SequenceEqual(place.Text)) Changed(place, newer);
                });
                foreach (var (key, place) in open)
                {
                    if (seen.Contains(key)) continue;
                    // Not in this version: the newer one added it (or brought it back).
                    if (!place.LastFound) Changed(place, newer);
                    place.Since = newer;
                    place.UncommittedSince = newer is null;
                    closed.Add(key);
                }
                foreach (var key in closed) open.Remove(key);
                newer = v.Commit;
            }
        }
        finally
        {
            batch?.Dispose();
            try
            {
                feeder.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
                // The walk stopped early and closed git: the feeder's write failed, as it should.
            }
        }
        // Still open at the end of the history: there since the oldest commit that had the file.
        foreach (var place in open.Values)
        {
            if (!place.LastFound) Changed(place, newer);
            place.Since = newer;
            place.UncommittedSince = newer is null;
        }
        return all.ToDictionary(e => e.Key, e => new EntryEvidence(e.Value.LastChange, e.Value.Since, e.Value.Uncommitted, e.Value.UncommittedSince), StringComparer.Ordinal);

        static void Changed(Place place, CommitInfo? by)
        {
            place.LastFound = true;
            place.LastChange = by;
            place.Uncommitted = by is null;
        }
    }

    private static void Feed(GitProcess batch, List<Version> versions)
    {
        var input = batch.Stdin;
        foreach (var v in versions)
        {
            if (v.Blob is null) continue;
            var line = Encoding.ASCII.GetBytes(v.Blob + "\n");
            input.Write(line, 0, line.Length);
        }
        input.Flush();
        input.Close();
    }

    /// <summary>`git cat-file --batch`'s answers, in order: "SHA blob SIZE\n", SIZE bytes, "\n".</summary>
    private sealed class BatchReader(GitProcess git)
    {
        private readonly byte[] _buf = new byte[1 << 20];
        private int _start, _end;

        public ReadOnlySpan<byte> Next(string blob)
        {
            var header = Line();
            var parts = header.Split(' ');
            if (parts.Length != 3 || parts[0] != blob || parts[1] != "blob" || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var size))
                throw new GitException($"git cat-file: unexpected answer for {blob}: {header}");
            if (size > RosterLoader.MaxBytes) throw new GitException($"a version of the roster ({blob}) is {size} bytes; the limit is {RosterLoader.MaxBytes}");
            return Bytes((int)size + 1).AsSpan(0, (int)size);
        }

        private bool Fill()
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buf, _start, _buf, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            var n = git.Read(_buf, _end, _buf.Length - _end);
            _end += n;
            return n > 0;
        }

        private string Line()
        {
            while (true)
            {
                var i = Array.IndexOf(_buf, (byte)'\n', _start, _end - _start);
                if (i >= 0)
                {
                    var s = Encoding.ASCII.GetString(_buf, _start, i - _start);
                    _start = i + 1;
                    return s;
                }
                if (_end - _start >= 1024 || !Fill()) throw new GitException("git cat-file: no answer");
            }
        }

        private byte[] _blob = new byte[1 << 16];

        /// <summary>The next count bytes, in a buffer reused for every version (valid until the next call).</summary>
        private byte[] Bytes(int count)
        {
            if (_blob.Length < count) _blob = new byte[Math.Max(count, _blob.Length * 2)];
            var result = _blob;
            var done = 0;
            while (done < count)
            {
                if (_start == _end && !Fill()) throw new GitException("git cat-file: the answer ended early");
                var n = Math.Min(count - done, _end - _start);
                Buffer.BlockCopy(_buf, _start, result, done, n);
                _start += n;
                done += n;
            }
            return result;
        }
    }
}

namespace Workstation.Roster.Tests;

/// <summary>
/// A real git repository in a temporary folder for the history tests: roster edits land as a
/// forge lands them, a branch merged into main with the forge's merge message, at a set time.
/// </summary>
internal sealed class GitRepo : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("roster-git-").FullName;

    public string Roster => Path.Combine(Dir, "roster.yaml");

    public GitRepo()
    {
        Git("init", "-q", "-b", "main");
        Git("config", "user.name", "Test");
        Git("config", "user.email", "test@example.test");
        Git("config", "commit.gpgsign", "false");
        // The repository exists before the roster does, as in a real one.
        File.WriteAllText(Path.Combine(Dir, "README.md"), "infra\n");
        Git("add", "README.md");
        Git("commit", "-q", "-m", "start");
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);

    /// <summary>Runs git in the repository; its stdout, or the test fails.</summary>
    public string Git(params string[] args) => GitAs("Test", DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), args);

    public string GitAs(string author, DateTimeOffset when, params string[] args)
    {
        var date = when.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var r = Processes.Run("git", ["-C", Dir, .. args], new Dictionary<string, string?>
        {
            ["GIT_AUTHOR_NAME"] = author, ["GIT_AUTHOR_EMAIL"] = "a@example.test", ["GIT_AUTHOR_DATE"] = date,
            ["GIT_COMMITTER_NAME"] = author, ["GIT_COMMITTER_EMAIL"] = "a@example.test", ["GIT_COMMITTER_DATE"] = date,
            ["GIT_CONFIG_NOSYSTEM"] = "1", ["HOME"] = Dir,
        }, seconds: 60);
        Assert.True(r.Code == 0, $"git {string.Join(' ', args)}: {r.Err}");
        return r.Out;
    }

    /// <summary>A plain commit on the current branch.</summary>
    public string Commit(string roster, string message, string author, DateTimeOffset when)
    {
        File.WriteAllText(Roster, roster);
        GitAs(author, when, "add", "roster.yaml");
        GitAs(author, when, "commit", "-q", "-m", message);
        return Head();
    }

    /// <summary>A PR: the change on a branch by <paramref name="author"/>, merged into main by <paramref name="merger"/> with <paramref name="mergeMessage"/>.</summary>
    public string MergePr(string roster, string branch, string mergeMessage, string author, string merger, DateTimeOffset when)
    {
        GitAs(author, when, "checkout", "-q", "-b", branch);
        Commit(roster, $"change on {branch}", author, when.AddMinutes(-30));
        GitAs(merger, when, "checkout", "-q", "main");
        GitAs(merger, when, "merge", "-q", "--no-ff", "-m", mergeMessage, branch);
        return Head();
    }

    public string Head() => Git("rev-parse", "HEAD").Trim();
}

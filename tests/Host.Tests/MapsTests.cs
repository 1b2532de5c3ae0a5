namespace Host.Tests;

/// <summary>
/// `maps apply` on the box: the files it writes, and that it leaves them alone when nothing
/// changed. What it renders (sorting, exact bytes, dropping a removed person) is tested without
/// a box: Roster.Tests' HostLocalTests.
/// </summary>
[Collection(SandboxCollection3.Name)]
public sealed class MapsTests(SandboxFixture box)
{
    private const string Read = "cat /etc/ttyd-user-map; echo '--'; cat /etc/t3-serve/dispatch.json; echo '--'; stat -c '%i %Y %a %U' /etc/ttyd-user-map /etc/t3-serve/dispatch.json";

    /// <summary>The golden maps command runs as written; run again, it rewrites nothing (same inode and mtime).</summary>
    [Fact]
    public async Task The_golden_maps_command_runs_as_written_and_an_unchanged_roster_rewrites_nothing()
    {
        await HostWorld.ReadyAsync(box);
        var golden = File.ReadLines(Path.Combine(box.RepoRoot, "tests", "golden", "host-commands.txt"))
            .Select(l => l.Split('\t', 2))
            .Single(p => p[0] == "maps")[1];
        await box.MustAsync(golden);
        var first = await box.MustAsync(Read);
        var parts = first.Stdout.Split("--\n");
        Assert.Equal("alice.a alice\nbob.b bob\nwiz.admin wiz\n", parts[0]);
        Assert.Contains(" 644 root", parts[2], StringComparison.Ordinal);

        var same = await box.MustAsync(golden);
        Assert.Empty(same.Changes());
        Assert.Equal(first.Stdout, (await box.MustAsync(Read)).Stdout);
    }
}

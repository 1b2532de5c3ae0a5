using Workstation.Roster;
namespace Host.Tests;

/// <summary>`maps apply`: the shared ttyd map and t3 dispatch table, whole, sorted, deterministic.</summary>
[Collection(SandboxCollection.Name)]
public sealed class MapsTests(SandboxFixture box)
{
    /// <summary>A roster entry with these names and t3 port, derived as the program derives it.</summary>
    private static DerivedUser Entry(string osUser, string authentikUser, int t3) =>
        Derivation.Derive(new Person(osUser, authentikUser, osUser, null, Tier.PowerUser, [], new Dictionary<string, string>(),
            new Ports(t3, t3 + 5000), null, false, [], false), RosterSettings.Default);

    private const string Read = "cat /etc/ttyd-user-map; echo '--'; cat /etc/t3-serve/dispatch.json; echo '--'; stat -c '%i %Y %a %U' /etc/ttyd-user-map /etc/t3-serve/dispatch.json";

    [Fact]
    public async Task Maps_are_deterministic_sorted_by_authentik_user_and_drop_removed_users()
    {
        await HostWorld.ReadyAsync(box);
        DerivedUser[] three = [Entry("wiz", "wiz.admin", 3773), Entry("alice", "alice.a", 3774), Entry("bob", "Bob.b", 3775)];
        await box.MustAsync(HostCommands.Maps(three));
        var first = await box.MustAsync(Read);
        var parts = first.Stdout.Split("--\n");

        // Exact bytes (computed here independently): sorted by authentik user, byte order.
        Assert.Equal("Bob.b bob\nalice.a alice\nwiz.admin wiz\n", parts[0]);
        Assert.Equal(
            "{\n" +
            "  \"Bob.b\": {\n    \"os_user\": \"bob\",\n    \"port\": 3775\n  },\n" +
            "  \"alice.a\": {\n    \"os_user\": \"alice\",\n    \"port\": 3774\n  },\n" +
            "  \"wiz.admin\": {\n    \"os_user\": \"wiz\",\n    \"port\": 3773\n  }\n" +
            "}\n",
            parts[1]);
        Assert.Contains(" 644 root", parts[2], StringComparison.Ordinal);

        // The same roster in another order: byte-identical and not rewritten (same inode and mtime).
        // (an order the program never sends: it sorts by os_user)
        var same = await box.MustAsync(HostileCli.MapsRaw(["bob:Bob.b:3775", "wiz:wiz.admin:3773", "alice:alice.a:3774"]));
        Assert.Empty(same.Changes());
        Assert.Equal(first.Stdout, (await box.MustAsync(Read)).Stdout);

        // alice leaves the roster: gone from both maps.
        await box.MustAsync(HostCommands.Maps([three[0], three[2]]));
        var after = (await box.MustAsync(Read)).Stdout.Split("--\n");
        Assert.Equal("Bob.b bob\nwiz.admin wiz\n", after[0]);
        Assert.DoesNotContain("alice", after[1], StringComparison.Ordinal);
        using var json = System.Text.Json.JsonDocument.Parse(after[1]);
        Assert.Equal(["Bob.b", "wiz.admin"], json.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(3775, json.RootElement.GetProperty("Bob.b").GetProperty("port").GetInt32());
    }

    [Fact]
    public async Task The_golden_maps_command_runs_as_written()
    {
        await HostWorld.ReadyAsync(box);
        var golden = File.ReadLines(Path.Combine(box.RepoRoot, "tests", "golden", "host-commands.txt"))
            .Select(l => l.Split('\t', 2))
            .Single(p => p[0] == "maps")[1];
        await box.MustAsync(golden);
        var r = await box.MustAsync("cat /etc/ttyd-user-map");
        Assert.Equal("alice.a alice\nbob.b bob\nwiz.admin wiz\n", r.Stdout);
    }
}

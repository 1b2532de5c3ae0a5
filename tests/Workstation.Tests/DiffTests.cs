using System.Text.RegularExpressions;
using Workstation.Components;
using Workstation.Tests.Support;
using Xunit;

namespace Workstation.Tests;

/// <summary>What changes between two runs: only what the roster or host/ change says should.</summary>
public class DiffTests
{
    private static Task<Run> RunAsync(string rosterText, HostBundle? bundle = null) =>
        Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(rosterText), Fixture.Settings(), bundle ?? Fixture.Bundle).Outputs);

    /// <summary>Keys whose inputs differ, or that exist on one side only.</summary>
    private static IReadOnlyList<string> Changed(Run before, Run after)
    {
        var a = before.ByKey;
        var b = after.ByKey;
        return a.Keys.Union(b.Keys)
            .Where(k => !a.TryGetValue(k, out var x) || !b.TryGetValue(k, out var y) || x.Canonical != y.Canonical)
            .Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public async Task Two_runs_register_byte_identical_inputs()
    {
        var first = await RunAsync(Fixture.RosterText);
        var second = await RunAsync(Fixture.RosterText);
        Assert.Equal(10, first.Registrations.Count);
        Assert.Equal(first.Canonical, second.Canonical);
    }

    [Fact]
    public async Task Removing_a_user_leaves_none_of_their_resources_and_changes_only_the_maps()
    {
        var full = await RunAsync(Fixture.RosterText);
        var withoutBob = Regex.Replace(Fixture.RosterText, @"(?ms)^  bob:\n.*?(?=^retired:)", "");
        Assert.DoesNotContain("bob:", withoutBob, StringComparison.Ordinal);
        var removed = await RunAsync(withoutBob);

        Assert.DoesNotContain(removed.Registrations, r => r.Name == "bob" || r.Name.StartsWith("bob-", StringComparison.Ordinal));
        Assert.Equal(
            ["command:remote:Command::bob-host", "command:remote:Command::workstation-maps", "workstation:index:WorkstationUser::bob"],
            Changed(full, removed));
        Assert.DoesNotContain("bob", removed.Command("workstation-maps").Str("create"), StringComparison.Ordinal);
        // What Pulumi replays when it deletes bob's step: the suspend line stored with it.
        Assert.Equal(Fixture.GoldenCommands()["suspend:bob"], full.Command("bob-host").Str("delete"));
    }

    [Fact]
    public async Task Adding_one_user_to_100_changes_only_that_user_and_the_maps()
    {
        var before = await RunAsync(Fixture.GeneratedRoster(100));
        // The new user goes first in the file: position must not matter either.
        var after = await RunAsync(Fixture.GeneratedRoster(101, order: Enumerable.Range(0, 100).Prepend(100)));

        Assert.Equal(2 * 101 + 4, before.Registrations.Count);
        Assert.Equal(
            ["command:remote:Command::u100-host", "command:remote:Command::workstation-maps", "workstation:index:WorkstationUser::u100"],
            Changed(before, after));
    }

    [Fact]
    public async Task Reordering_users_changes_nothing()
    {
        var sorted = await RunAsync(Fixture.GeneratedRoster(20));
        var shuffled = await RunAsync(Fixture.GeneratedRoster(20, order: Enumerable.Range(0, 20).Reverse()));
        Assert.Equal(sorted.Canonical, shuffled.Canonical);
    }

    [Fact]
    public async Task Changing_one_host_script_changes_only_the_install_step()
    {
        using var dir = TempHostDir.CopyOf(Repo.HostDir);
        var before = await RunAsync(Fixture.RosterText, HostBundle.FromDirectory(dir.Path));
        var script = Directory.EnumerateFiles(dir.Path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).First();
        File.AppendAllText(script, "\n# changed\n");
        var after = await RunAsync(Fixture.RosterText, HostBundle.FromDirectory(dir.Path));

        Assert.Equal(["command:remote:Command::workstation-install"], Changed(before, after));
        var triggers = (System.Collections.IEnumerable)after.Command("workstation-install").Inputs["triggers"];
        Assert.Equal([HostBundle.FromDirectory(dir.Path).Sha256], triggers.Cast<object>());
    }
}

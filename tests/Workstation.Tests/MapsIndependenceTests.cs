using System.Collections.Concurrent;
using Moq;
using Pulumi.Testing;

namespace Workstation.Tests;

/// <summary>Issue 24 §4: one person's failing clone holds up neither the shared maps step nor anyone else's steps.</summary>
public class MapsIndependenceTests
{
    /// <summary>Runs the golden stack with the engine failing the resource named <paramref name="failing"/>; returns what was registered.</summary>
    private static async Task<(IReadOnlyList<Registration> Seen, Exception? Error)> RunFailingAsync(string failing)
    {
        var (mock, seen) = Harness.Mocks();
        // The most recent matching setup wins: this one fails only that resource, the rest echo as usual.
        // It fails once nothing else registers any more, as a clone that fails after a while does:
        // failing at once would end the run before independent steps register, whatever they wait on.
        async Task<(string? id, object state)> Fail(MockResourceArgs _)
        {
            await SettleAsync(seen);
            throw new InvalidOperationException($"{failing}: git clone failed (the mock's failure)");
        }
        mock.Setup(m => m.NewResourceAsync(It.Is<MockResourceArgs>(a => a.Name == failing))).Returns((Func<MockResourceArgs, Task<(string? id, object state)>>)Fail);
        Exception? error = null;
        try
        {
            await Deployment.TestAsync(mock.Object, Harness.Options,
                () => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);
        }
        catch (Exception e)
        {
            error = e;
        }
        return (seen.ToList(), error);
    }

    /// <summary>Returns once <paramref name="seen"/> has not grown for half a second (at most 20 s).</summary>
    private static async Task SettleAsync(ConcurrentQueue<Registration> seen)
    {
        var (count, still, deadline) = (-1, 0, DateTime.UtcNow.AddSeconds(20));
        while (still < 5 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            (still, count) = seen.Count == count ? (still + 1, count) : (0, seen.Count);
        }
    }

    [Fact]
    public async Task S4_A_failed_code_step_leaves_the_maps_and_everyone_elses_steps_registered()
    {
        var (seen, error) = await RunFailingAsync("alice-code");
        var names = seen.Where(r => r.Type == Types.Command).Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        // The failure is real: the run fails, and alice's step that needs her clone never runs.
        Assert.NotNull(error);
        Assert.DoesNotContain("alice-code", names);
        Assert.DoesNotContain("alice-secrets", names);
        // The maps still update, with alice on them (her account exists), and bob's and wiz's steps all run.
        var maps = seen.Single(r => r.Type == Types.Command && r.Name == WorkstationStack.MapsName);
        Assert.Contains(" alice:", maps.Str("create"), StringComparison.Ordinal);
        Assert.Subset(names, new HashSet<string>(StringComparer.Ordinal)
        {
            "alice-account", "alice-services",
            "bob-account", "bob-code", "bob-services", "bob-secrets",
            "wiz-account", "wiz-code", "wiz-services", "wiz-secrets",
        });
    }

    [Fact]
    public async Task S4_A_failed_account_step_still_holds_up_the_maps()
    {
        // The maps route to accounts: without alice's account they wait (the test's control: a failure does propagate).
        var (seen, error) = await RunFailingAsync("alice-account");
        Assert.NotNull(error);
        Assert.DoesNotContain(seen, r => r.Type == Types.Command && r.Name == WorkstationStack.MapsName);
        Assert.Contains(seen, r => r.Type == Types.Command && r.Name == "bob-code");
    }
}

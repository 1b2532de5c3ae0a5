namespace Workstation.Tests;

/// <summary>
/// Issue 26 §9: the order between a person's host steps is what the one step list
/// (<see cref="HostStep.All"/>) says, pinned in full. Each step's DependsOn, as the program
/// registers it, is exactly the steps its <see cref="HostStep.After"/> names that the person has,
/// nothing more and nothing less; a step that names none waits for the base's steps instead.
/// </summary>
public class HostStepDependencyTests
{
    public static TheoryData<bool> Shapes() => [true, false];

    /// <summary>
    /// For the admin (no cut) and each person, in a stack that stages secrets (a secrets step) and
    /// in one that stages none: the person's Commands are exactly the step list's, and each one's
    /// dependencies exactly its After (account: the base's install, base and site).
    /// </summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task Rule_every_host_steps_full_dependency_list_is_the_step_lists(bool stagesSecrets)
    {
        var settings = stagesSecrets ? Fixture.Settings() : Fixture.Settings(LifecycleTests.HostOnly());
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), settings, Fixture.Bundle).Outputs);
        var @base = constructed.Select(c => c.Resource).OfType<WorkstationBase>().Single();
        var baseSteps = new[] { @base.Install, @base.Base, @base.Site }.Select(r => r.GetResourceName()).Order(StringComparer.Ordinal).ToList();

        var roster = Derivation.Derive(Fixture.Roster());
        Assert.Equal(["alice", "bob", "wiz"], roster.Users.Select(u => u.OsUser).Order(StringComparer.Ordinal));
        foreach (var u in roster.Users)
        {
            var steps = HostStep.For(u.IsAdmin, stagesSecrets);
            var mine = constructed.Where(c => c.Resource.GetResourceType() == Types.Command && c.Options.Parent?.GetResourceName() == u.OsUser)
                .ToDictionary(c => c.Resource.GetResourceName(), StringComparer.Ordinal);
            Assert.Equal(steps.Select(s => s.ResourceName(u.OsUser)).Order(StringComparer.Ordinal), mine.Keys.Order(StringComparer.Ordinal));
            foreach (var step in steps)
            {
                var have = (await Probe.DependsOnAsync(mine[step.ResourceName(u.OsUser)])).Select(r => r.GetResourceName()).Order(StringComparer.Ordinal).ToList();
                var want = step.After.Count == 0 ? baseSteps
                    : steps.Where(s => step.After.Contains(s.Name)).Select(s => s.ResourceName(u.OsUser)).Order(StringComparer.Ordinal).ToList();
                Assert.True(want.SequenceEqual(have), $"{step.ResourceName(u.OsUser)} depends on [{string.Join(", ", have)}], the step list says [{string.Join(", ", want)}]");
            }
        }
        Assert.Equal(stagesSecrets, constructed.Any(c => c.Resource.GetResourceName() == HostStep.Secrets.ResourceName("alice")));
    }

    /// <summary>
    /// The list itself: each step depends only on steps before it (its creation order), the
    /// secrets step on the code and services steps (the beads key goes into the clone), and the
    /// cut on every other step, so that on a retire it is deleted first, alone.
    /// </summary>
    [Fact]
    public void Rule_the_step_list_orders_each_step_after_what_it_names_and_the_cut_after_all()
    {
        var all = HostStep.All;
        for (var i = 0; i < all.Count; i++)
            Assert.All(all[i].After, d => Assert.Contains(d, all.Take(i).Select(s => s.Name)));
        Assert.Equal(["account"], HostStep.Code.After);
        Assert.Equal(["account"], HostStep.Services.After);
        Assert.Equal(["code", "services"], HostStep.Secrets.After.Order(StringComparer.Ordinal));
        Assert.Equal(all.Where(s => s != HostStep.Cut).Select(s => s.Name).Order(StringComparer.Ordinal), HostStep.Cut.After.Order(StringComparer.Ordinal));
        Assert.Equal([HostStep.Cut], HostStep.DeleteOrder(HostStep.For(isAdmin: false, stagesSecrets: false))[0]);
    }
}

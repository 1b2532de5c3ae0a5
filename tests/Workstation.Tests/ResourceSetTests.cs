using Pulumi;
using Pulumi.Utilities;
using Workstation.Components;
using Workstation.Tests.Support;
using Xunit;

namespace Workstation.Tests;

/// <summary>Which resources the golden roster produces, per tier and for the admin, and what the stack exports.</summary>
public class ResourceSetTests
{
    private const string CommandType = "command:remote:Command";

    private static Task<Run> GoldenRun() =>
        Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);

    [Fact]
    public async Task The_golden_roster_registers_exactly_the_base_and_one_component_and_command_per_person()
    {
        var run = await GoldenRun();
        string[] expected =
        [
            $"{CommandType}::alice-host",
            $"{CommandType}::bob-host",
            $"{CommandType}::wiz-host",
            $"{CommandType}::workstation-install",
            $"{CommandType}::workstation-maps",
            $"{CommandType}::workstation-site",
            $"{WorkstationBase.Type}::workstation",
            $"{WorkstationUser.Type}::alice",
            $"{WorkstationUser.Type}::bob",
            $"{WorkstationUser.Type}::wiz",
        ];
        Assert.Equal(expected, run.Registrations.Select(r => r.Key).Order(StringComparer.Ordinal));
        // The retired user keeps a reservation in the roster and nothing on the host.
        Assert.DoesNotContain(run.Registrations, r => r.Name.Contains("carol", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("wiz", "admin")]
    [InlineData("alice", "power-user")]
    [InlineData("bob", "namespace-owner")]
    public async Task Each_tier_gets_one_component_with_one_host_command_parented_to_it(string user, string tier)
    {
        var run = await GoldenRun();
        var mine = run.Registrations.Where(r => r.Name == user || r.Name.StartsWith(user + "-", StringComparison.Ordinal))
            .Select(r => r.Key).Order(StringComparer.Ordinal);
        Assert.Equal([$"{CommandType}::{user}-host", $"{WorkstationUser.Type}::{user}"], mine);

        var component = run.Resources.OfType<WorkstationUser>().Single(c => c.GetResourceName() == user);
        Assert.Equal(tier, await OutputUtilities.GetValueAsync(component.Tier));

        // The test monitor's URNs drop intermediate parents, so read the Parent option as constructed.
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);
        var host = constructed.Single(c => c.Resource.GetResourceName() == $"{user}-host");
        Assert.IsType<WorkstationUser>(host.Options.Parent);
        Assert.Equal(user, host.Options.Parent!.GetResourceName());
    }

    [Fact]
    public async Task The_base_steps_are_children_of_the_base_component_and_ordered_install_site_users_maps()
    {
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);
        var @base = constructed.Select(c => c.Resource).OfType<WorkstationBase>().Single();
        foreach (var step in new[] { @base.Install, @base.Site, @base.Maps! })
            Assert.Same(@base, constructed.Single(c => ReferenceEquals(c.Resource, step)).Options.Parent);

        async Task<IReadOnlyList<Resource>> After(Resource r) => await Probe.DependsOnAsync(constructed.Single(c => ReferenceEquals(c.Resource, r)));

        Assert.Equal([@base.Install], await After(@base.Site));
        var users = constructed.Select(c => c.Resource).OfType<WorkstationUser>().ToList();
        Assert.Equal(3, users.Count);
        foreach (var u in users)
            Assert.Equal([@base.Install, @base.Site], await After(u.Host));
        var mapsAfter = await After(@base.Maps!);
        Assert.All(users, u => Assert.Contains(u, mapsAfter));
    }

    [Fact]
    public async Task The_stack_exports_ports_services_and_tier_per_user()
    {
        var run = await GoldenRun();
        var outputs = (IDictionary<string, object?>)(await Harness.ResolveAsync(run.Outputs))!;
        Assert.Equal("wiz", outputs["admin"]);
        var users = (IDictionary<string, object?>)outputs["users"]!;
        Assert.Equal(["alice", "bob", "wiz"], users.Keys);
        var alice = (IDictionary<string, object?>)users["alice"]!;
        Assert.Equal("power-user", alice["tier"]);
        var ports = (IDictionary<string, object?>)alice["ports"]!;
        Assert.Equal(3774, ports["t3"]);
        Assert.Equal(8932, ports["playwright"]);
        Assert.Equal(
            ["playwright-mcp@alice.service", "playwright-snapshot-refresh@alice.timer", "t3-serve@alice.service"],
            ((IEnumerable<object?>)alice["services"]!).Cast<string>());
        Assert.Equal(Fixture.Bundle.Sha256, outputs["hostContentSha256"]);
    }
}

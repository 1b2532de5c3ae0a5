using System.Collections.Concurrent;
using Pulumi.Utilities;

namespace Workstation.Tests.Support;

/// <summary>One resource as the program constructed it, before serialisation: its args (with secretness) and options.</summary>
public sealed record Constructed(Resource Resource, ResourceArgs Args, ResourceOptions Options);

/// <summary>
/// A stack whose transformation sees every resource the program constructs (stack transformations
/// are inherited by every descendant). It records and changes nothing.
/// </summary>
public sealed class ProbeStack : Stack
{
    // Tests run one at a time (AssemblyInfo.cs), so a static hand-over is safe.
    internal static Func<IDictionary<string, object?>>? Program;
    internal static readonly ConcurrentQueue<Constructed> Seen = new();
    internal static IDictionary<string, object?> Outputs = new Dictionary<string, object?>();

    public ProbeStack()
        : base(new StackOptions { ResourceTransformations = { Record } })
    {
        Outputs = Program!();
    }

    private static ResourceTransformationResult? Record(ResourceTransformationArgs args)
    {
        Seen.Enqueue(new Constructed(args.Resource, args.Args, args.Options));
        return null;
    }
}

public static class Probe
{
    public static async Task<(IReadOnlyList<Constructed> Constructed, IDictionary<string, object?> Outputs)> RunAsync(Func<IDictionary<string, object?>> program, MockWorld? world = null)
    {
        ProbeStack.Program = program;
        ProbeStack.Seen.Clear();
        var (mock, _) = Harness.Mocks(world);
        await Pulumi.Deployment.TestAsync<ProbeStack>(mock.Object, Harness.Options);
        return (ProbeStack.Seen.ToList(), ProbeStack.Outputs);
    }

    /// <summary>The resources a constructed resource explicitly depends on (its DependsOn option).</summary>
    public static async Task<IReadOnlyList<Resource>> DependsOnAsync(Constructed c) =>
        await OutputUtilities.GetValueAsync(c.Options.DependsOn.ToOutput());
}

/// <summary>URNs as the Pulumi engine makes them, and its --target globs (the mock monitor's own URNs leave intermediate parents out).</summary>
public static class EngineUrns
{
    /// <summary>Every constructed custom resource's key (type::name) and URN: the parents' types joined by '$', the root stack left out.</summary>
    public static IReadOnlyDictionary<string, string> Of(IReadOnlyList<Constructed> constructed, string stack = "devvm", string project = "workstation")
    {
        var options = constructed.ToDictionary(c => c.Resource, c => c.Options);
        var urns = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var c in constructed.Where(c => c.Resource is CustomResource))
        {
            var types = new List<string> { c.Resource.GetResourceType() };
            for (var p = c.Options.Parent; p is not null and not Stack; p = options.TryGetValue(p, out var o) ? o.Parent : null)
                types.Insert(0, p.GetResourceType());
            urns[$"{c.Resource.GetResourceType()}::{c.Resource.GetResourceName()}"] =
                $"urn:pulumi:{stack}::{project}::{string.Join('$', types)}::{c.Resource.GetResourceName()}";
        }
        return urns;
    }

    /// <summary>A --target as the engine reads it (pkg/resource/deploy/deployment.go, getMatcher): '**' any text, '*' any text within one ':'-part, else literal.</summary>
    public static bool Matches(string target, string urn)
    {
        if (!target.Contains('*', StringComparison.Ordinal)) return target == urn;
        var pattern = string.Join(".*", target.Split("**").Select(seg =>
            string.Join("[^:]*", seg.Split('*').Select(System.Text.RegularExpressions.Regex.Escape))));
        return System.Text.RegularExpressions.Regex.IsMatch(urn, "^" + pattern + "$");
    }
}

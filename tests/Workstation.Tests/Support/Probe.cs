using System.Collections.Concurrent;
using Pulumi;
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

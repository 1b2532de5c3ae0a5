using System.Collections;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Moq;
using Pulumi;
using Pulumi.Testing;
using Pulumi.Utilities;

namespace Workstation.Tests.Support;

/// <summary>One resource as the engine saw it: type, name and inputs (secretness already stripped by the test monitor).</summary>
public sealed record Registration(string Type, string Name, ImmutableDictionary<string, object> Inputs)
{
    public string Key => $"{Type}::{Name}";

    public string? Str(string input) => Inputs.TryGetValue(input, out var v) ? v as string : null;

    /// <summary>The inputs as canonical JSON: sorted keys, no whitespace, invariant numbers.</summary>
    public string Canonical => Canonicalizer.Write(Inputs);
}

/// <summary>What one run of the program under mocks registered.</summary>
public sealed record Run(IReadOnlyList<Registration> Registrations, ImmutableArray<Resource> Resources, IDictionary<string, object?> Outputs)
{
    public IReadOnlyDictionary<string, Registration> ByKey =>
        Registrations.ToDictionary(r => r.Key, StringComparer.Ordinal);

    public Registration Command(string name) =>
        Registrations.Single(r => r.Type == "command:remote:Command" && r.Name == name);

    /// <summary>Every registration as "type::name canonical-inputs", sorted: equal strings mean byte-identical inputs.</summary>
    public string Canonical => string.Join('\n', Registrations.Select(r => $"{r.Key} {r.Canonical}").Order(StringComparer.Ordinal));
}

/// <summary>Runs code under Pulumi's test deployment with a Moq IMocks that echoes inputs back as outputs.</summary>
public static class Harness
{
    public static readonly TestOptions Options = new() { ProjectName = "workstation", StackName = "devvm", IsPreview = false };

    public static (Mock<IMocks> Mock, ConcurrentQueue<Registration> Seen) Mocks()
    {
        var seen = new ConcurrentQueue<Registration>();
        var mock = new Mock<IMocks>(MockBehavior.Strict);
        mock.Setup(m => m.NewResourceAsync(It.IsAny<MockResourceArgs>()))
            .ReturnsAsync((MockResourceArgs a) =>
            {
                seen.Enqueue(new Registration(a.Type ?? "", a.Name ?? "", a.Inputs));
                return (a.Name + "-id", (object)a.Inputs);
            });
        mock.Setup(m => m.CallAsync(It.IsAny<MockCallArgs>()))
            .ReturnsAsync((MockCallArgs _) => (object)ImmutableDictionary<string, object>.Empty);
        mock.Setup(m => m.RegisterResourceOutputs(It.IsAny<MockRegisterResourceOutputsRequest>()))
            .Returns(Task.CompletedTask);
        return (mock, seen);
    }

    public static async Task<Run> RunAsync(Func<IDictionary<string, object?>> program)
    {
        var (mock, seen) = Mocks();
        var (resources, outputs) = await Deployment.TestAsync(mock.Object, Options, program);
        return new Run(seen.ToList(), resources, outputs);
    }

    /// <summary>Resolves every Output inside a value (dictionaries, lists) to plain data.</summary>
    public static async Task<object?> ResolveAsync(object? value) => value switch
    {
        null => null,
        string s => s,
        _ when IsOutput(value) => await ResolveAsync(await GetValueAsync(value)),
        IDictionary d => await ResolveDictionaryAsync(d),
        IEnumerable e => await ResolveListAsync(e),
        _ => value,
    };

    private static async Task<object?> ResolveDictionaryAsync(IDictionary d)
    {
        var result = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in d) result[(string)entry.Key] = await ResolveAsync(entry.Value);
        return result;
    }

    private static async Task<object?> ResolveListAsync(IEnumerable e)
    {
        var result = new List<object?>();
        foreach (var item in e) result.Add(await ResolveAsync(item));
        return result;
    }

    private static bool IsOutput(object value) =>
        value.GetType() is { IsGenericType: true } t && t.GetGenericTypeDefinition() == typeof(Output<>);

    /// <summary>OutputUtilities.GetValueAsync for an Output of unknown T.</summary>
    private static async Task<object?> GetValueAsync(object output)
    {
        var t = output.GetType().GetGenericArguments().Single();
        var method = typeof(OutputUtilities).GetMethod(nameof(OutputUtilities.GetValueAsync))!.MakeGenericMethod(t);
        var task = (Task)method.Invoke(null, [output])!;
        await task;
        return task.GetType().GetProperty("Result")!.GetValue(task);
    }
}

/// <summary>Canonical JSON for the values the test monitor hands to mocks.</summary>
public static class Canonicalizer
{
    public static string Write(object? value)
    {
        var sb = new StringBuilder();
        Append(sb, value);
        return sb.ToString();
    }

    private static void Append(StringBuilder sb, object? value)
    {
        switch (value)
        {
            case null:
                sb.Append("null");
                break;
            case string s:
                sb.Append(JsonSerializer.Serialize(s));
                break;
            case bool b:
                sb.Append(b ? "true" : "false");
                break;
            case double or int or long or float or decimal:
                sb.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
            case IDictionary<string, object> d:
                sb.Append('{');
                var first = true;
                foreach (var (k, v) in d.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    if (!first) sb.Append(',');
                    first = false;
                    sb.Append(JsonSerializer.Serialize(k)).Append(':');
                    Append(sb, v);
                }
                sb.Append('}');
                break;
            case IEnumerable e:
                sb.Append('[');
                var firstItem = true;
                foreach (var item in e)
                {
                    if (!firstItem) sb.Append(',');
                    firstItem = false;
                    Append(sb, item);
                }
                sb.Append(']');
                break;
            default:
                throw new NotSupportedException($"no canonical form for {value.GetType()}");
        }
    }
}

using System.Collections;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Moq;
using Pulumi.Testing;
using Pulumi.Utilities;

namespace Workstation.Tests.Support;

/// <summary>
/// One resource as the engine saw it: type, name and inputs (secretness already stripped by the
/// test monitor), its provider reference, and for a read (`Resource.Get`) the id it read.
/// </summary>
public sealed record Registration(string Type, string Name, ImmutableDictionary<string, object> Inputs, string? Provider = null, string? ReadId = null)
{
    public string Key => $"{Type}::{Name}";

    public bool IsRead => ReadId is not null;

    public string? Str(string input) => Inputs.TryGetValue(input, out var v) ? v as string : null;

    /// <summary>
    /// A host step's line without the host revision it ends with (<see cref="Workstation.Roster.HostCommands.AtHostRev"/>),
    /// so it can be held to a golden line; a step line without one fails the test.
    /// </summary>
    public string? StepLine(string input) => Str(input) is not { } line ? null
        : System.Text.RegularExpressions.Regex.Match(line, " --host-rev [0-9a-f]{64}$") is { Success: true } m ? line[..m.Index]
        : throw new Xunit.Sdk.XunitException($"{Name}'s {input} does not end with a host revision: {line}");

    /// <summary>The inputs as canonical JSON: sorted keys, no whitespace, invariant numbers.</summary>
    public string Canonical => Canonicalizer.Write(Inputs);
}

/// <summary>What one run of the program under mocks registered, and the look-ups (invokes) it made.</summary>
public sealed record Run(IReadOnlyList<Registration> Registrations, ImmutableArray<Resource> Resources, IDictionary<string, object?> Outputs, IReadOnlyList<MockCallArgs>? Calls = null)
{
    public IReadOnlyDictionary<string, Registration> ByKey =>
        Registrations.ToDictionary(r => r.Key, StringComparer.Ordinal);

    public Registration Command(string name) =>
        Registrations.Single(r => r.Type == Types.Command && r.Name == name);

    public Registration Named(string type, string name) => Registrations.Single(r => r.Type == type && r.Name == name);

    /// <summary>Every registration as "type::name canonical-inputs", sorted: equal strings mean byte-identical inputs.</summary>
    public string Canonical => string.Join('\n', Registrations.Select(r => $"{r.Key} {r.Canonical}").Order(StringComparer.Ordinal));
}

/// <summary>Runs code under Pulumi's test deployment with a Moq IMocks that echoes inputs back as outputs.</summary>
public static class Harness
{
    public static readonly TestOptions Options = new() { ProjectName = "workstation", StackName = "devvm", IsPreview = false };

    /// <summary>
    /// The mocks: new resources echo their inputs; reads (a registration with an id) answer from
    /// <paramref name="world"/>; so do the Authentik user and Vault auth-mount look-ups.
    /// </summary>
    public static (Mock<IMocks> Mock, ConcurrentQueue<Registration> Seen) Mocks(MockWorld? world = null) => Mocks(world, new ConcurrentQueue<MockCallArgs>());

    private static (Mock<IMocks> Mock, ConcurrentQueue<Registration> Seen) Mocks(MockWorld? world, ConcurrentQueue<MockCallArgs> calls)
    {
        world ??= MockWorld.Default;
        var seen = new ConcurrentQueue<Registration>();
        var mock = new Mock<IMocks>(MockBehavior.Strict);
        mock.Setup(m => m.NewResourceAsync(It.IsAny<MockResourceArgs>()))
            .ReturnsAsync((MockResourceArgs a) =>
            {
                var read = string.IsNullOrEmpty(a.Id) ? null : a.Id;
                seen.Enqueue(new Registration(a.Type ?? "", a.Name ?? "", a.Inputs, a.Provider, read));
                return read is null ? (a.Name + "-id", (object)a.Inputs) : (read, world.Read(a.Type ?? "", read));
            });
        mock.Setup(m => m.CallAsync(It.IsAny<MockCallArgs>()))
            .ReturnsAsync((MockCallArgs a) =>
            {
                calls.Enqueue(a);
                return (object)world.Call(a);
            });
        mock.Setup(m => m.RegisterResourceOutputs(It.IsAny<MockRegisterResourceOutputsRequest>()))
            .Returns(Task.CompletedTask);
        return (mock, seen);
    }

    public static async Task<Run> RunAsync(Func<IDictionary<string, object?>> program, MockWorld? world = null, bool preview = false)
    {
        var calls = new ConcurrentQueue<MockCallArgs>();
        var (mock, seen) = Mocks(world, calls);
        var (resources, outputs) = await Deployment.TestAsync(mock.Object, preview ? PreviewOptions : Options, program);
        return new Run(seen.ToList(), resources, outputs, calls.ToList());
    }

    public static readonly TestOptions PreviewOptions = new() { ProjectName = "workstation", StackName = "devvm", IsPreview = true };

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

/// <summary>
/// What the mocked outside world holds: which Authentik users exist, which RoleBindings other
/// stacks made, the t3 application and Vault's OIDC mount.
/// </summary>
public sealed record MockWorld
{
    public const string OidcAccessor = "auth_oidc_5e1f7a2b";

    public static MockWorld Default { get; } = new();

    /// <summary>Authentik usernames the mock has no user for (its look-up fails the way the provider's does).</summary>
    public IReadOnlySet<string> UnknownAuthentikUsers { get; init; } = new HashSet<string>();

    /// <summary>
    /// Existing RoleBindings by id (namespace/name). Reading any other id fails the way the engine
    /// fails a read of a missing object; an empty state reads back as an object with no fields.
    /// </summary>
    public IReadOnlyDictionary<string, ImmutableDictionary<string, object>> RoleBindings { get; init; } =
        ImmutableDictionary<string, ImmutableDictionary<string, object>>.Empty;

    /// <summary>Existing ClusterRoleBindings by name (another stack's, e.g. the seed's k8s_users); reading another fails like a missing object.</summary>
    public IReadOnlyDictionary<string, ImmutableDictionary<string, object>> ClusterRoleBindings { get; init; } =
        ImmutableDictionary<string, ImmutableDictionary<string, object>>.Empty;

    /// <summary>Existing ClusterRoles by name, with their rules.</summary>
    public IReadOnlyDictionary<string, ImmutableDictionary<string, object>> ClusterRoles { get; init; } =
        ImmutableDictionary<string, ImmutableDictionary<string, object>>.Empty;

    /// <summary>The t3 application's policy engine mode (Authentik's default is any; all lets the group's binding decide).</summary>
    public string T3AppEngineMode { get; init; } = "all";

    /// <summary>The mode of the t3 application's proxy provider (forward_domain: a domain-level, shared application).</summary>
    public string T3ProxyMode { get; init; } = "forward_single";

    /// <summary>The pk of the t3 application's provider.</summary>
    public const int T3ProviderPk = 7;

    /// <summary>The OIDC mount's type as Vault reports it.</summary>
    public string AuthBackendType { get; init; } = "oidc";

    /// <summary>Vault's KV v2 secrets by mount/path: field → value. Reading another path fails the way the provider does.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> VaultKv { get; init; } = Fixture.VaultKv;

    /// <summary>A stable, distinct pk per username (string.GetHashCode is randomised per process).</summary>
    public static int Pk(string username)
    {
        var h = 2166136261u;
        foreach (var c in username) h = (h ^ c) * 16777619u;
        return (int)(h % 900_000) + 100;
    }

    public static string AppUuid(string slug) => $"uuid-of-app-{slug}";

    /// <summary>A RoleBinding as the Kubernetes provider would read it back.</summary>
    public static ImmutableDictionary<string, object> Binding(string ns, string name, string roleKind, string role, params (string Kind, string Name)[] subjects) =>
        ImmutableDictionary<string, object>.Empty
            .Add("apiVersion", "rbac.authorization.k8s.io/v1")
            .Add("kind", "RoleBinding")
            .Add("metadata", ImmutableDictionary<string, object>.Empty.Add("name", name).Add("namespace", ns))
            .Add("roleRef", ImmutableDictionary<string, object>.Empty.Add("apiGroup", "rbac.authorization.k8s.io").Add("kind", roleKind).Add("name", role))
            .Add("subjects", subjects.Select(s => (object)ImmutableDictionary<string, object>.Empty
                .Add("apiGroup", "rbac.authorization.k8s.io").Add("kind", s.Kind).Add("name", s.Name)).ToImmutableArray());

    /// <summary>A ClusterRoleBinding as the Kubernetes provider would read it back.</summary>
    public static ImmutableDictionary<string, object> ClusterBinding(string name, string role, params (string Kind, string Name)[] subjects) =>
        Binding("", name, "ClusterRole", role, subjects).SetItem("kind", "ClusterRoleBinding")
            .SetItem("metadata", ImmutableDictionary<string, object>.Empty.Add("name", name));

    /// <summary>A ClusterRole as read back: each rule is (apiGroups, resources, verbs).</summary>
    public static ImmutableDictionary<string, object> Role(string name, params (string[] Groups, string[] Resources, string[] Verbs)[] rules) =>
        ImmutableDictionary<string, object>.Empty
            .Add("apiVersion", "rbac.authorization.k8s.io/v1")
            .Add("kind", "ClusterRole")
            .Add("metadata", ImmutableDictionary<string, object>.Empty.Add("name", name))
            .Add("rules", rules.Select(r => (object)ImmutableDictionary<string, object>.Empty
                .Add("apiGroups", r.Groups.Cast<object>().ToImmutableArray())
                .Add("resources", r.Resources.Cast<object>().ToImmutableArray())
                .Add("verbs", r.Verbs.Cast<object>().ToImmutableArray())).ToImmutableArray());

    public object Read(string type, string id) => type switch
    {
        Types.RoleBinding => RoleBindings.TryGetValue(id, out var state) ? state : throw new InvalidOperationException($"reading resource: resource '{id}' does not exist"),
        Types.ClusterRoleBinding => ClusterRoleBindings.TryGetValue(id, out var crb) ? crb : throw new InvalidOperationException($"reading resource: resource '{id}' does not exist"),
        Types.ClusterRole => ClusterRoles.TryGetValue(id, out var role) ? role : throw new InvalidOperationException($"reading resource: resource '{id}' does not exist"),
        Types.AuthentikApp => ImmutableDictionary<string, object>.Empty.Add("slug", id).Add("name", id).Add("uuid", AppUuid(id))
            .Add("policyEngineMode", T3AppEngineMode).Add("protocolProvider", T3ProviderPk),
        Types.AuthentikProxyProvider when id == T3ProviderPk.ToString(CultureInfo.InvariantCulture) =>
            ImmutableDictionary<string, object>.Empty.Add("name", "t3-proxy").Add("mode", T3ProxyMode),
        _ => throw new InvalidOperationException($"the mock world has nothing to read for {type} {id}"),
    };

    public ImmutableDictionary<string, object> Call(MockCallArgs a)
    {
        switch (a.Token)
        {
            case Types.GetUser:
                var username = (string)a.Args["username"];
                // The provider's own error, which names no one: the program must add the name.
                if (UnknownAuthentikUsers.Contains(username)) throw new InvalidOperationException("No matching user found");
                return ImmutableDictionary<string, object>.Empty
                    .Add("pk", Pk(username)).Add("username", username).Add("name", username).Add("isActive", true);
            case Types.GetAuthBackend:
                return ImmutableDictionary<string, object>.Empty
                    .Add("accessor", OidcAccessor).Add("path", (string)a.Args["path"]).Add("type", AuthBackendType).Add("id", (string)a.Args["path"]);
            case Types.GetKvSecretV2:
                var path = $"{a.Args["mount"]}/{a.Args["name"]}";
                if (!VaultKv.TryGetValue(path, out var data)) throw new InvalidOperationException($"no secret found at {path}");
                return ImmutableDictionary<string, object>.Empty
                    .Add("data", data.ToImmutableDictionary(kv => kv.Key, kv => (object)kv.Value))
                    .Add("mount", (string)a.Args["mount"]).Add("name", (string)a.Args["name"]).Add("path", path).Add("id", path);
            default:
                return ImmutableDictionary<string, object>.Empty;
        }
    }
}

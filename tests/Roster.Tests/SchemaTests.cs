using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Workstation.Roster.Tests;

/// <summary>roster.schema.json: the shipped roster passes it, and it agrees with the C# validator.</summary>
public class SchemaTests
{
    private static readonly Lazy<JsonSchema> Schema = new(() => JsonSchema.FromFile(TestFiles.Schema));

    private static bool SchemaOk(string yaml, out string detail)
    {
        var json = YamlToJson.Convert(yaml);
        using var doc = JsonDocument.Parse(json?.ToJsonString() ?? "null");
        var result = Schema.Value.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        detail = string.Join("; ", (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .Select(d => $"{d.InstanceLocation}: {string.Join(", ", d.Errors!.Values)}"));
        return result.IsValid;
    }

    private static bool EngineOk(string yaml, out string detail)
    {
        var result = RosterLoader.Load(yaml);
        detail = string.Join("; ", result.Errors);
        return result.Ok;
    }

    [Fact]
    public void The_shipped_roster_passes_the_engine_and_the_schema()
    {
        var yaml = File.ReadAllText(TestFiles.ShippedRoster);
        Assert.StartsWith("# yaml-language-server: $schema=./roster.schema.json\n", yaml, StringComparison.Ordinal);
        Assert.True(EngineOk(yaml, out var engine), engine);
        Assert.True(SchemaOk(yaml, out var schema), schema);
    }

    [Fact]
    public void The_golden_roster_passes_the_engine_and_the_schema()
    {
        var yaml = File.ReadAllText(TestFiles.GoldenRoster);
        Assert.True(EngineOk(yaml, out var engine), engine);
        Assert.True(SchemaOk(yaml, out var schema), schema);
    }

    public static TheoryData<string> AgreementNames() => [.. AgreementCases.All.Keys];

    [Theory]
    [MemberData(nameof(AgreementNames))]
    public void The_engine_and_the_schema_agree(string name)
    {
        var (yaml, ok) = AgreementCases.All[name];
        var engine = EngineOk(yaml, out var engineDetail);
        var schema = SchemaOk(yaml, out var schemaDetail);
        Assert.True(engine == ok, $"engine says {(engine ? "ok" : "bad")}, expected {(ok ? "ok" : "bad")}: {engineDetail}");
        Assert.True(schema == ok, $"schema says {(schema ? "ok" : "bad")}, expected {(ok ? "ok" : "bad")}: {schemaDetail}");
    }

    /// <summary>
    /// The documented gaps (docs/roster.md): spellings that YAML 1.2 reads as a whole number, which
    /// the schema accepts and the engine refuses (it takes plain decimal digits only).
    /// </summary>
    [Theory]
    [InlineData("3774.0")]
    [InlineData("+3774")]
    [InlineData("0xEBE")]
    [InlineData("3.774e3")]
    public void Number_spellings_are_the_known_difference(string spelling)
    {
        const string admin = "admin:\n  os_user: wiz\n  authentik_user: wiz\n  k8s_user: wiz\n";
        var yaml = admin + $"  ports: {{ t3: {spelling}, playwright: 8931 }}\nusers: {{}}\n";
        Assert.True(SchemaOk(yaml, out var schema), schema);
        Assert.False(EngineOk(yaml, out _));
        Assert.Equal($"roster.yaml:5:16: admin.ports.t3: must be a whole number, got '{spelling}'", RosterLoader.Load(yaml).Errors.Single().ToString());
    }

    /// <summary>Cross-entry rules: the schema passes these, the engine refuses them (see docs/roster.md).</summary>
    [Theory]
    [InlineData("same os_user in users and retired")]
    [InlineData("same port twice")]
    [InlineData("retired uid reused")]
    [InlineData("deny_users")]
    [InlineData("external binding outside namespaces")]
    [InlineData("same authentik_user in other case")]
    public void Cross_entry_rules_are_the_engines_alone(string rule)
    {
        const string admin = "admin:\n  os_user: wiz\n  authentik_user: wiz\n  k8s_user: wiz\n  ports: { t3: 3773, playwright: 8931 }\n";
        var yaml = rule switch
        {
            "same os_user in users and retired" => admin + "users:\n" + TestFiles.User("bob", 3774, 8932) + "retired:\n  bob: { ports: { t3: 3775, playwright: 8933 } }\n",
            "same port twice" => admin + "users:\n" + TestFiles.User("bob", 3773, 8932),
            "retired uid reused" => admin + "users:\n" + TestFiles.User("bob", 3774, 8932, extra: "    uid: 2000\n") + "retired:\n  old: { uid: 2000, ports: { t3: 3775, playwright: 8933 } }\n",
            "deny_users" => "settings:\n  deny_users: [bob]\n" + admin + "users:\n" + TestFiles.User("bob", 3774, 8932),
            "external binding outside namespaces" => admin + "users:\n" + TestFiles.User("bob", 3774, 8932, "namespace-owner", "    namespaces: [a]\n    external_bindings: { b: owners }\n"),
            _ => admin + "users:\n" + TestFiles.User("bob", 3774, 8932).Replace("authentik_user: bob", "authentik_user: WIZ", StringComparison.Ordinal),
        };
        Assert.True(SchemaOk(yaml, out var schema), schema);
        Assert.False(EngineOk(yaml, out _));
    }

    [Fact]
    public void A_large_generated_roster_passes_both()
    {
        var yaml = TestFiles.Generated(300);
        Assert.True(EngineOk(yaml, out var engine), engine);
        Assert.True(SchemaOk(yaml, out var schema), schema);
    }

    private static JsonNode SchemaJson() => JsonNode.Parse(File.ReadAllText(TestFiles.Schema))!;

    [Fact]
    public void The_schema_patterns_are_the_engines_patterns()
    {
        var defs = SchemaJson()["$defs"]!;
        Assert.Equal(Rules.Display(Rules.OsUser()), (string?)defs["osUser"]!["pattern"]);
        Assert.Equal(Rules.Display(Rules.AuthentikUser()), (string?)defs["authentikUser"]!["pattern"]);
        Assert.Equal(Rules.Display(Rules.K8sUser()), (string?)defs["k8sUser"]!["pattern"]);
        Assert.Equal(Rules.Display(Rules.Email()), (string?)defs["email"]!["pattern"]);
        Assert.Equal(Rules.Display(Rules.Dns1123Label()), (string?)defs["namespace"]!["pattern"]);
        Assert.Equal(Rules.Display(Rules.K8sUser()), (string?)defs["settings"]!["properties"]!["k8s_username_prefix"]!["anyOf"]![1]!["pattern"]);
        Assert.Equal(Rules.MinPort, (int)defs["port"]!["minimum"]!);
        Assert.Equal(Rules.MaxPort, (int)defs["port"]!["maximum"]!);
        Assert.Equal(Rules.MinUid, (int)defs["uid"]!["minimum"]!);
        Assert.Equal(Rules.MaxUid, (int)defs["uid"]!["maximum"]!);
        Assert.Equal(
            Rules.ReservedUsers.Union(Rules.ReservedGroupNames).Order(StringComparer.Ordinal),
            defs["osUser"]!["not"]!["enum"]!.AsArray().Select(n => (string)n!).Order(StringComparer.Ordinal));
        Assert.Equal(Rules.Display(Rules.AccountName()), (string?)defs["groupName"]!["pattern"]);
        Assert.Equal(
            [Tier.PowerUser.ToYaml(), Tier.NamespaceOwner.ToYaml()],
            defs["user"]!["properties"]!["tier"]!["enum"]!.AsArray().Select(n => (string?)n));
    }

    [Fact]
    public void Every_object_in_the_schema_forbids_unknown_keys_and_has_descriptions()
    {
        var checkedObjects = 0;
        void Walk(JsonNode? node, string at)
        {
            if (node is JsonObject obj)
            {
                if (obj["properties"] is JsonObject props && !at.Contains("/allOf/", StringComparison.Ordinal))
                {
                    checkedObjects++;
                    Assert.True(obj["additionalProperties"] is JsonValue v && v.GetValueKind() == JsonValueKind.False,
                        $"{at} has properties but allows unknown keys");
                    foreach (var (key, prop) in props)
                        Assert.True(prop!["description"] is not null || prop["$ref"] is not null, $"{at}/properties/{key} has no description");
                }
                foreach (var (key, child) in obj) Walk(child, $"{at}/{key}");
            }
            else if (node is JsonArray array)
            {
                for (var i = 0; i < array.Count; i++) Walk(array[i], $"{at}/{i}");
            }
        }
        var schema = SchemaJson();
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", (string?)schema["$schema"]);
        Walk(schema, "#");
        Assert.True(checkedObjects >= 6);
    }
}

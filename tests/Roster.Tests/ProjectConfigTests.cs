using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;
using static Workstation.Roster.Tests.PulumiConfigModel;

namespace Workstation.Roster.Tests;

/// <summary>
/// Pulumi accepts the config as committed: Pulumi.yaml agrees with the key catalogue
/// (Roster/ProjectConfig.cs), and Pulumi's own config rule (<see cref="PulumiConfigModel"/>, from
/// pulumi/pulumi's mergeConfig) lets the sandbox stack with the quick start's `pulumi config set`
/// lines run, and stops the devvm stack only on the keys its TODO lines name.
/// </summary>
public sealed partial class ProjectConfigTests
{
    private static string Read(string file) => File.ReadAllText(Path.Combine(TestFiles.Root, file));

    private static Project LoadedProject()
    {
        var (project, errors) = LoadProject(Read("Pulumi.yaml"));
        Assert.Empty(errors);
        return project;
    }

    [Fact]
    public void Pulumi_yaml_passes_pulumis_own_project_validation()
    {
        var (project, errors) = LoadProject(Read("Pulumi.yaml"));
        Assert.Empty(errors);
        Assert.Equal(ProjectConfig.Namespace, project.Name);
    }

    [Fact]
    public void Pulumi_yaml_declares_exactly_the_catalogues_keys_types_defaults_and_secretness()
    {
        var project = LoadedProject();
        Assert.Equal(ProjectConfig.Entries.Select(e => e.Key).Order(StringComparer.Ordinal), project.Config.Keys.Order(StringComparer.Ordinal));
        foreach (var entry in ProjectConfig.Entries)
        {
            var declared = project.Config[entry.Key];
            Assert.True(entry.Type.ToString().ToLowerInvariant() == declared.Type, $"{entry.Key}: Pulumi.yaml says type {declared.Type}, the catalogue {entry.Type}");
            Assert.True(entry.Items?.ToString().ToLowerInvariant() == declared.ItemsType?.Type, $"{entry.Key}: items differ");
            Assert.True(entry.Secret == declared.Secret, $"{entry.Key}: secretness differs");
            Assert.Null(declared.Value);
            // What the program reads for an unset key is the text Pulumi merges in (createConfigValue).
            var merged = declared.Default is null ? null : FromRaw(declared.Default).Text;
            Assert.True(entry.Default == merged, $"{entry.Key}: Pulumi.yaml's default is {merged ?? "(none)"}, the catalogue's {entry.Default ?? "(none)"}");
        }
        Assert.All(ProjectConfig.Retired, k => Assert.DoesNotContain(k, project.Config.Keys));
    }

    /// <summary>A secret key can't have a default (Pulumi would merge it as plaintext, then refuse it), so it is always required.</summary>
    [Fact]
    public void Every_secret_key_is_required_and_every_other_required_key_is_one_a_stack_must_name()
    {
        Assert.All(ProjectConfig.Entries.Where(e => e.Secret), e => Assert.True(e.Required, e.Key));
        Assert.Equal(
            ["authentikT3AppSlug", "authentikUrl", "clusterName", "clusterServer", "oidcClientId", "oidcIssuer", "repoUrl", "vaultAddr"],
            ProjectConfig.Entries.Where(e => e.Required && !e.Secret).Select(e => e.Key).Order(StringComparer.Ordinal));
    }

    // --- the stacks ------------------------------------------------------------------------

    /// <summary>What `scripts/sandbox.sh env` prints, for the quick start's values that come from it.</summary>
    private static readonly Dictionary<string, string> SandboxEnv = new(StringComparer.Ordinal)
    {
        ["SANDBOX_SSH_HOST"] = "127.0.0.1",
        ["SANDBOX_SSH_PORT"] = "2222",
        ["SANDBOX_SSH_KEY"] = "/var/cache/workstation/sandbox/ssh/id_ed25519",
        ["SANDBOX_HOST_KEY"] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheBox",
    };

    /// <summary>The `pulumi config set` calls of a script, one per line, as (key, value, secret); a value on stdin is "(stdin)".</summary>
    internal static List<(string Key, string Value, bool Secret, bool PathSet)> ConfigSetCalls(string script)
    {
        var calls = new List<(string, string, bool, bool)>();
        foreach (var raw in script.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || !line.StartsWith("pulumi config set ", StringComparison.Ordinal)) continue;
            var words = Words(line["pulumi config set ".Length..]);
            var (secret, path, rest) = (false, false, new List<string>());
            for (var i = 0; i < words.Count; i++)
            {
                switch (words[i])
                {
                    case "--secret": secret = true; break;
                    case "--path": path = true; break;
                    case "--plaintext": break;
                    case "--stack" or "-s": i++; break;
                    case "<": i++; break;
                    default:
                        if (words[i].StartsWith('<')) break;
                        rest.Add(words[i]);
                        break;
                }
            }
            Assert.True(rest.Count is 1 or 2, $"can't read: {line}");
            calls.Add((rest[0], rest.Count == 2 ? Expand(rest[1]) : "(stdin)", secret, path));
        }
        return calls;
    }

    /// <summary>Shell words: '...' and "..." quoted (quotes removed), '&lt;' split off.</summary>
    private static List<string> Words(string text)
    {
        var words = new List<string>();
        foreach (Match m in WordPattern().Matches(text))
        {
            var w = m.Value;
            words.Add(w.Length >= 2 && (w[0] == '"' || w[0] == '\'') && w[^1] == w[0] ? w[1..^1] : w);
        }
        return words;
    }

    [GeneratedRegex("""'[^']*'|"(?:[^"\\]|\\.)*"|<|[^\s<]+""")]
    private static partial Regex WordPattern();

    private static string Expand(string value) => BoxValue().Replace(value, m =>
        SandboxEnv.TryGetValue(m.Groups[1].Value, out var v) ? v : throw new InvalidOperationException($"unknown shell value {m.Value}"));

    [GeneratedRegex(@"\$\{box\[(\w+)\]\}")]
    private static partial Regex BoxValue();

    /// <summary>Applies `pulumi config set` calls to a stack's values (a --path set makes the base key an object).</summary>
    internal static Dictionary<string, StackValue> Apply(Dictionary<string, StackValue> stack, IEnumerable<(string Key, string Value, bool Secret, bool PathSet)> calls)
    {
        var result = new Dictionary<string, StackValue>(stack, StringComparer.Ordinal);
        foreach (var (key, value, secret, path) in calls)
        {
            Assert.False(value.Contains('$', StringComparison.Ordinal) || value.Contains('`', StringComparison.Ordinal), $"unexpanded shell in {key}: {value}");
            if (path)
            {
                var m = PathKey().Match(key);
                Assert.True(m.Success, $"can't read the --path key {key}");
                var full = $"{ProjectConfig.Namespace}:{m.Groups[1].Value}";
                var obj = result.TryGetValue(full, out var old) && old.Object ? JsonNode.Parse(old.Text)!.AsObject() : new JsonObject();
                obj[m.Groups[2].Value] = value;
                result[full] = new StackValue(obj.ToJsonString(), false, true);
            }
            else
                result[$"{ProjectConfig.Namespace}:{key}"] = new StackValue(value, secret, false);
        }
        return result;
    }

    [GeneratedRegex("""^(\w+)\["([^"]+)"\]$""")]
    private static partial Regex PathKey();

    [Fact]
    public void The_sandbox_stack_with_the_quick_starts_config_set_lines_leaves_nothing_missing_and_type_checks()
    {
        var calls = ConfigSetCalls(Read("scripts/quickstart.sh"));
        Assert.Contains(calls, c => c.Key == "sshHostKey");
        Assert.Contains(calls, c => c is { Key: "sshPrivateKey", Secret: true, Value: "(stdin)" });
        var stack = Apply(LoadStack(Read("Pulumi.sandbox.yaml")), calls);

        var (missing, error) = Merge("sandbox", LoadedProject(), stack);
        Assert.True(missing.Count == 0, error);
        Assert.Null(error);
    }

    [Fact]
    public void Without_the_quick_starts_lines_the_sandbox_stack_stops_on_exactly_the_keys_they_set()
    {
        var (missing, error) = Merge("sandbox", LoadedProject(), LoadStack(Read("Pulumi.sandbox.yaml")));
        Assert.Equal(["authentikToken", "backupPassword", "kubeconfig", "sshPrivateKey", "vaultToken"], missing);
        Assert.Equal("Stack 'sandbox' is missing configuration values 'authentikToken', 'backupPassword', 'kubeconfig', 'sshPrivateKey' and 'vaultToken'", error);
    }

    /// <summary>The keys `# TODO(owner) required: a, b -- ...` lines name.</summary>
    private static SortedSet<string> TodoKeys(string stackFile)
    {
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        foreach (Match m in TodoLine().Matches(stackFile))
            foreach (var k in m.Groups[1].Value.Split(", ")) keys.Add(k);
        return keys;
    }

    [GeneratedRegex(@"^[ \t]*#[ \t]*TODO\(owner\) required: ([A-Za-z0-9]+(?:, [A-Za-z0-9]+)*)", RegexOptions.Multiline)]
    private static partial Regex TodoLine();

    [Fact]
    public void The_devvm_stack_leaves_missing_only_the_keys_its_TODO_lines_name()
    {
        var text = Read("Pulumi.devvm.yaml");
        var todo = TodoKeys(text);
        Assert.NotEmpty(todo);
        var project = LoadedProject();
        var stack = LoadStack(text);
        var (missing, error) = Merge("devvm", project, stack);
        Assert.True(todo.SetEquals(missing), $"missing: {string.Join(", ", missing)}; the TODO lines name: {string.Join(", ", todo)}; Pulumi: {error}");
        // What the stack does set has Pulumi's types and secretness (checked as if the TODOs were done).
        Assert.Null(ValidateValues("devvm", project, stack));
    }

    /// <summary>
    /// Issue 24 §8: the committed devvm stack follows its own runbook (docs/adopting-a-live-devvm.md
    /// §4): the first `up` keeps the Claude Code people run, and leaves the launcher to
    /// terminal-lobby, which deploys it today.
    /// </summary>
    [Fact]
    public void S8_the_devvm_stack_sets_what_the_adoption_runbook_asks_for()
    {
        var (config, why) = StackFile.Read(Path.Combine(TestFiles.Root, "Pulumi.devvm.yaml"));
        Assert.True(config is not null, why);
        Assert.Equal("if-missing", config.GetValueOrDefault("workstation:claudeCodePolicy"));
        Assert.Equal("false", config.GetValueOrDefault("workstation:ownLauncher"));
        var runbook = Read("docs/adopting-a-live-devvm.md");
        Assert.Contains("`claudeCodePolicy: if-missing`", runbook, StringComparison.Ordinal);
        Assert.Contains("`ownLauncher: false` while another deployer (terminal-lobby) owns `start-claude.sh`", runbook, StringComparison.Ordinal);
    }

    [Fact]
    public void The_readme_quick_start_is_the_one_command_and_sets_no_config_of_its_own()
    {
        var readme = Read("README.md");
        var start = readme.IndexOf("## Quick start", StringComparison.Ordinal);
        Assert.True(start >= 0);
        var section = readme[start..readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal)];
        var block = Regex.Match(section, "```sh\n(.*?)```", RegexOptions.Singleline).Groups[1].Value;
        Assert.Equal(["scripts/quickstart.sh", "scripts/test.sh"], block.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('#')[0].Trim()).Where(l => l.Length > 0));
        Assert.Empty(ConfigSetCalls(section));
    }

    [Fact]
    public void The_pinned_pulumi_cli_reads_this_project_file()
    {
        var pin = Regex.Match(Read(".ci/versions"), @"^PULUMI_CLI_VERSION=(\d+)\.(\d+)\.(\d+)$", RegexOptions.Multiline);
        Assert.True(pin.Success);
        var version = new Version(int.Parse(pin.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(pin.Groups[2].Value, CultureInfo.InvariantCulture), int.Parse(pin.Groups[3].Value, CultureInfo.InvariantCulture));
        // pulumi/pulumi CHANGELOG.md: 3.157.0 "Introduce the packages section in Pulumi.yaml";
        // 3.187.0 "Allow config values to be parsed with type `object`".
        Assert.True(version >= new Version(3, 187, 0), $"{version} can't read `type: object`");
        var yaml = Read("Pulumi.yaml");
        Assert.Contains("\npackages:", yaml, StringComparison.Ordinal);
        Assert.Contains("type: object", yaml, StringComparison.Ordinal);
        // The README names the same pin, and no doc names another CLI version as the one to use.
        Assert.Contains($"Pulumi CLI {version}", Read("README.md"), StringComparison.Ordinal);
        foreach (var doc in new[] { "README.md" }.Concat(Directory.GetFiles(Path.Combine(TestFiles.Root, "docs"), "*.md", SearchOption.AllDirectories)))
            foreach (Match m in Regex.Matches(File.ReadAllText(Path.Combine(TestFiles.Root, doc)), @"Pulumi CLI (\d+\.\d+\.\d+)"))
                Assert.True(m.Groups[1].Value == version.ToString(), $"{doc} names Pulumi CLI {m.Groups[1].Value}; the pin is {version}");
    }

    // --- the model itself can fail, each way Pulumi does -----------------------------------------

    private const string Mini = """
        name: p
        runtime: dotnet
        config:
          host:
            type: string
          port:
            type: integer
            default: 22
          on:
            type: boolean
            default: true
          names:
            type: array
            items:
              type: string
            default: []
          map:
            type: object
            default: {}
          token:
            type: string
            secret: true
        """;

    private static Dictionary<string, StackValue> Stack(params (string Key, StackValue Value)[] values) =>
        values.ToDictionary(v => "p:" + v.Key, v => v.Value, StringComparer.Ordinal);

    [Fact]
    public void The_model_stops_on_every_required_key_missing_in_one_error_like_pulumi()
    {
        var (project, errors) = LoadProject(Mini);
        Assert.Empty(errors);
        var (missing, error) = Merge("s", project, Stack());
        Assert.Equal(["host", "token"], missing);
        Assert.Equal("Stack 's' is missing configuration values 'host' and 'token'", error);
        var (one, oneError) = Merge("s", project, Stack(("token", new StackValue("c", true, false))));
        Assert.Equal(["host"], one);
        Assert.Equal("Stack 's' is missing configuration value 'host'", oneError);
        Assert.Equal("Stack 's' is missing configuration values 'a', 'b' and 'c'", MissingError("s", ["c", "a", "b"]));
    }

    [Theory]
    [InlineData("port", "x", false, "Stack 's' with configuration key 'port' must be of type 'integer'")]
    [InlineData("on", "yes", false, "Stack 's' with configuration key 'on' must be of type 'boolean'")]
    [InlineData("names", "names", false, "Stack 's' with configuration key 'names' must be of type 'array<string>'")]
    [InlineData("names", "[1]", true, "Stack 's' with configuration key 'names' must be of type 'array<string>'")]
    [InlineData("map", "[]", true, "Stack 's' with configuration key 'map' must be of type 'object'")]
    [InlineData("host", "[\"a\"]", true, "Stack 's' with configuration key 'host' must be of type 'string'")]
    [InlineData("token", "plain", false, "Stack 's' with configuration key 'token' must be encrypted as it's secret")]
    [InlineData("port", "2222", false, null)]
    [InlineData("names", "[\"a\"]", true, null)]
    [InlineData("map", "{\"k\":1}", true, null)]
    public void The_model_checks_types_and_secretness_like_pulumi(string key, string text, bool isObject, string? expected)
    {
        var (project, _) = LoadProject(Mini);
        var stack = Stack(("host", new StackValue("h", false, false)), ("token", new StackValue("c", true, false)));
        stack["p:" + key] = new StackValue(text, false, isObject);
        var (missing, error) = Merge("s", project, stack);
        Assert.Empty(missing);
        Assert.Equal(expected, error);
    }

    /// <summary>Pulumi.yaml's errors for one key k declared with TYPE and DEFAULT.</summary>
    private static IReadOnlyList<string> ErrorsOfKey(string type, string @default) =>
        LoadProject($"name: p\nruntime: dotnet\nconfig:\n  k:\n    type: {type}\n    default: {@default}\n").Errors;

    [Theory]
    [InlineData("integer", "x")]
    [InlineData("string", "85")]
    [InlineData("object", "[]")]
    public void The_model_refuses_a_default_not_of_its_keys_type_as_pulumi_does(string type, string @default) =>
        Assert.Contains($"The default value specified for configuration key 'k' is not of the expected type '{type}'", ErrorsOfKey(type, @default));

    [Fact]
    public void The_model_refuses_an_array_key_without_its_items_type_as_pulumi_does() =>
        Assert.Contains("The configuration key 'k' declares an array but does not specify the underlying type via the 'items' attribute", ErrorsOfKey("array", "[]"));

    [Fact]
    public void A_default_on_a_secret_key_is_merged_as_plaintext_and_refused()
    {
        var (project, errors) = LoadProject("name: p\nruntime: dotnet\nconfig:\n  k:\n    type: string\n    secret: true\n    default: \"\"\n");
        Assert.Empty(errors);
        Assert.Equal("Stack 's' with configuration key 'k' must be encrypted as it's secret", Merge("s", project, Stack()).Error);
    }
}

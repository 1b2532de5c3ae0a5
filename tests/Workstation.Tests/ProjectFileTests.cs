using System.Reflection;
using Workstation.Components;
using Workstation.Tests.Support;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Workstation.Tests;

/// <summary>Pulumi.yaml declares exactly the keys the program reads; the devvm stack file holds no plaintext secret.</summary>
public class ProjectFileTests
{
    private static readonly string[] SecretKeys =
        [ConfigKeys.SshPrivateKey, ConfigKeys.SnapshotToken, ConfigKeys.Kubeconfig, ConfigKeys.VaultToken, ConfigKeys.AuthentikToken];

    private static YamlMappingNode Load(string file)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(Repo.Root, file))));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static YamlMappingNode Map(YamlMappingNode node, string key) => (YamlMappingNode)node.Children[new YamlScalarNode(key)];

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var v) ? ((YamlScalarNode)v).Value : null;

    private static IEnumerable<string> ProgramKeys() =>
        typeof(ConfigKeys).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.Name != nameof(ConfigKeys.Project))
            .Select(f => (string)f.GetRawConstantValue()!);

    [Fact]
    public void The_project_declares_every_key_the_program_reads_and_no_other()
    {
        var project = Load("Pulumi.yaml");
        Assert.Equal("workstation", Scalar(project, "name"));
        Assert.Equal("dotnet", Scalar(project, "runtime"));
        Assert.Equal(ConfigKeys.Project, Scalar(project, "name"));

        var config = Map(project, "config");
        var declared = config.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).Order(StringComparer.Ordinal);
        Assert.Equal(ProgramKeys().Order(StringComparer.Ordinal), declared);

        foreach (var key in SecretKeys)
        {
            var entry = Map(config, key);
            Assert.Equal("true", Scalar(entry, "secret"));
            // Pulumi would merge a default as plaintext and then refuse it for a secret key.
            Assert.Null(Scalar(entry, "default"));
        }
        // The pinned host key has no default: a stack without one stops before running.
        Assert.Null(Scalar(Map(config, ConfigKeys.SshHostKey), "default"));
    }

    [Fact]
    public void The_authentik_package_is_the_terraform_provider_entry_pulumi_package_add_writes()
    {
        var authentik = Map(Map(Load("Pulumi.yaml"), "packages"), "authentik");
        Assert.Equal("terraform-provider", Scalar(authentik, "source"));
        Assert.Matches(@"^\d+\.\d+\.\d+$", Scalar(authentik, "version"));
        var parameters = ((YamlSequenceNode)authentik.Children[new YamlScalarNode("parameters")]).Select(n => ((YamlScalarNode)n).Value);
        Assert.Equal(["goauthentik/authentik", "2024.10.2"], parameters);
    }

    [Fact]
    public void The_devvm_stack_holds_secrets_only_as_secure_values_and_only_known_keys()
    {
        var config = Map(Load("Pulumi.devvm.yaml"), "config");
        var known = ProgramKeys().Select(ConfigKeys.Full).ToHashSet(StringComparer.Ordinal);
        foreach (var (k, v) in config.Children)
        {
            var key = ((YamlScalarNode)k).Value!;
            Assert.Contains(key, known);
            if (SecretKeys.Select(ConfigKeys.Full).Contains(key))
                Assert.NotNull(Scalar(Assert.IsType<YamlMappingNode>(v), "secure"));
            else
                Assert.IsType<YamlScalarNode>(v);
        }
    }
}

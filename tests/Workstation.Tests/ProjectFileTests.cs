using System.Reflection;
using YamlDotNet.RepresentationModel;

namespace Workstation.Tests;

/// <summary>Pulumi.yaml declares exactly the keys the program reads; the devvm stack file holds no plaintext secret.</summary>
public class ProjectFileTests
{
    private static readonly string[] SecretKeys =
        [ConfigKeys.SshPrivateKey, ConfigKeys.Kubeconfig, ConfigKeys.VaultToken, ConfigKeys.AuthentikToken, ConfigKeys.BackupPassword];

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
            .Select(f => (string)f.GetRawConstantValue()!)
            .Where(k => !Workstation.Roster.ProjectConfig.Retired.Contains(k));

    /// <summary>The program's key names are the catalogue's (Roster/ProjectConfig.cs), and so are its secret keys; a retired key is still read, to say where it moved.</summary>
    [Fact]
    public void The_programs_keys_are_the_catalogues_and_a_retired_key_is_still_named()
    {
        var catalogue = Workstation.Roster.ProjectConfig.Entries;
        Assert.Equal(catalogue.Select(e => e.Key).Order(StringComparer.Ordinal), ProgramKeys().Order(StringComparer.Ordinal));
        Assert.Equal(catalogue.Where(e => e.Secret).Select(e => e.Key).Order(StringComparer.Ordinal), SecretKeys.Order(StringComparer.Ordinal));
        Assert.Equal([ConfigKeys.SnapshotToken], Workstation.Roster.ProjectConfig.Retired);
    }

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
        // The pinned host key defaults to '' only because hosts: may name the keys instead (issue 27):
        // a stack with neither stops in the program before running (ConfigErrorTests).
        Assert.Equal("", Scalar(Map(config, ConfigKeys.SshHostKey), "default"));
    }

    [Fact]
    public void Every_key_has_a_valid_type_and_a_description_and_its_default_is_the_programs()
    {
        var config = Map(Load("Pulumi.yaml"), "config");
        foreach (var (k, v) in config.Children)
        {
            var key = ((YamlScalarNode)k).Value!;
            var entry = Assert.IsType<YamlMappingNode>(v);
            // Pulumi's project schema (SimpleConfigType).
            Assert.Contains(Scalar(entry, "type"), new[] { "string", "integer", "boolean", "array", "object" });
            Assert.False(string.IsNullOrWhiteSpace(Scalar(entry, "description")), $"{key} has no description");
            // An array says what its items are (ProjectConfigItemsType); nothing else has items.
            var allowed = new HashSet<string> { "type", "description", "default", "secret" };
            if (Scalar(entry, "type") == "array")
            {
                allowed.Add("items");
                // object: hosts (issue 27), a list of mappings; Pulumi's schema allows it (sdk/go/common/workspace/project.json, simpleConfigType).
                Assert.Contains(Scalar(Map(entry, "items"), "type"), new[] { "string", "integer", "boolean", "object" });
            }
            Assert.Subset(allowed, entry.Children.Keys.Select(c => ((YamlScalarNode)c).Value!).ToHashSet());
        }
        Assert.Equal("integer", Scalar(Map(config, ConfigKeys.SshPort), "type"));

        // The program reads an unset key as the catalogue's default (Roster's SectionConfig), and
        // tests/Roster.Tests/ProjectConfigTests checks Pulumi.yaml against the same catalogue;
        // its typed fallbacks must say the same.
        var vault = Workstation.Roster.Access.VaultOptions.Default;
        var programDefaults = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            [ConfigKeys.Roster] = StackSettings.DefaultRosterPath,
            [ConfigKeys.SshPort] = StackSettings.DefaultSshPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [ConfigKeys.SshUser] = StackSettings.DefaultSshUser,
            [ConfigKeys.KubeContext] = "",
            [ConfigKeys.VaultKvMount] = vault.KvMount,
            [ConfigKeys.VaultUsersPath] = vault.UsersPath,
            [ConfigKeys.VaultOidcMount] = vault.OidcMountPath,
            [ConfigKeys.VaultOidcMountAccessor] = "",
            [ConfigKeys.VaultOidcUserClaim] = Workstation.Roster.Access.VaultUserClaims.ToConfig(vault.UserClaim),
            [ConfigKeys.OidcGrantType] = Workstation.Roster.Kubelogin.Name(Workstation.Roster.Kubelogin.DefaultGrantType),
            [ConfigKeys.EdgeUser] = "",
            [ConfigKeys.SnapshotUrl] = "",
            [ConfigKeys.MemoryMcpUrl] = "",
            [ConfigKeys.SwapSize] = "",
            [ConfigKeys.Swappiness] = "",
            [ConfigKeys.ToolsMirror] = "",
            [ConfigKeys.PinnedTools] = "true",
            [ConfigKeys.OwnLauncher] = "true",
            [ConfigKeys.NodeExporter] = "loopback",
            [ConfigKeys.ConfigBaseUrl] = "",
            [ConfigKeys.ConfigBaseRef] = "main",
            [ConfigKeys.ConfigBaseHooks] = "false",
            [ConfigKeys.ClaudeCodePolicy] = "pinned",
            [ConfigKeys.HostMemory] = "",
            [ConfigKeys.MemoryReserve] = Workstation.Roster.Sizes.Format(Workstation.Roster.HostCapacity.DefaultReserve),
            [ConfigKeys.CapacityWarnPercent] = Workstation.Roster.HostCapacity.DefaultWarnPercent.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [ConfigKeys.PurgeArchiveDir] = StackSettings.DefaultPurgeArchiveDir,
            [ConfigKeys.BackupRepository] = "",
            [ConfigKeys.EnableKubernetes] = "true",
            [ConfigKeys.EnableVault] = "true",
            [ConfigKeys.EnableAuthentik] = "true",
            [ConfigKeys.BackupKeepDaily] = "7",
            [ConfigKeys.BackupKeepWeekly] = "4",
            [ConfigKeys.BackupKeepMonthly] = "6",
            [ConfigKeys.BackupOnCalendar] = StackSettings.DefaultBackup.OnCalendar,
            // No fallback in the program: required there, so Pulumi.yaml's default is the only one.
            [ConfigKeys.T3Command] = "t3 serve --host 127.0.0.1 --port ${T3_PORT}",
            [ConfigKeys.T3Package] = "",
            [ConfigKeys.TakeOver] = "[]",
            // Issue 27: no fleet (the single-host keys), whose two required keys the program checks itself.
            [ConfigKeys.Hosts] = "[]",
            [ConfigKeys.SshHost] = "",
            [ConfigKeys.SshHostKey] = "",
            [ConfigKeys.RestartIdleMinutes] = Workstation.Roster.Rules.DefaultRestartIdleMinutes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [ConfigKeys.VaultSecrets] = "{}",
            [ConfigKeys.Rotate] = "{}",
        };
        var catalogueDefaults = Workstation.Roster.ProjectConfig.Entries.Where(e => e.Default is not null)
            .ToDictionary(e => e.Key, e => e.Default!, StringComparer.Ordinal);
        Assert.Equal(programDefaults, new SortedDictionary<string, string>(catalogueDefaults, StringComparer.Ordinal));

        // And the program really uses those fallbacks when the keys are unset.
        // (Without memory-key staged: memoryMcpUrl is required exactly with it.)
        var unset = Fixture.Config().With(ConfigKeys.VaultSecrets, null);
        // edgeUser: its default ('') is refused with Authentik on (issue 24 §1), so the fixture's `none` stays.
        foreach (var key in programDefaults.Keys.Where(k => k is not (ConfigKeys.EdgeUser or ConfigKeys.SshHost or ConfigKeys.SshHostKey))) unset = unset.With(key, null);
        var (settings, errors) = StackSettings.Load(unset);
        Assert.Empty(errors);
        Assert.Equal(StackSettings.DefaultRosterPath, settings!.RosterPath);
        Assert.Equal(StackSettings.DefaultSshPort, settings.Ssh.Port);
        Assert.Equal(StackSettings.DefaultSshUser, settings.Ssh.User);
        Assert.Null(settings.K8s!.Context);
        Assert.Equal(vault, settings.Vault!.Options);
        Assert.Null(settings.Vault!.OidcMountAccessor);
        Assert.Null(settings.Site.EdgeUser);
        Assert.Null(settings.Site.SnapshotUrl);
        Assert.Null(settings.Base.SwapSize);
        Assert.Null(settings.Base.Swappiness);
        Assert.Null(settings.Base.ToolsMirror);
        Assert.True(settings.Base.PinnedTools);
        Assert.True(settings.Base.OwnLauncher);
        Assert.Null(settings.Base.ConfigBase);
        Assert.False(settings.Base.ClaudeCodeIfMissing);
        Assert.Null(settings.Capacity);
        Assert.Equal(StackSettings.DefaultPurgeArchiveDir, settings.PurgeArchiveDir);
        Assert.Null(settings.Backup);
        Assert.NotNull(settings.K8s);
        Assert.NotNull(settings.Vault);
        Assert.NotNull(settings.Authentik);
        Assert.Null(settings.Base.T3Package);
        Assert.Empty(settings.Base.TakeOver);
        Assert.Empty(settings.Secrets.Fields);
        Assert.Empty(settings.Secrets.Rotate);
        Assert.Null(settings.Site.RestartIdleMinutes); // the host's own default: the flag stays off the site command
        Assert.Equal("t3 serve --host 127.0.0.1 --port ${T3_PORT}", settings.Site.T3Command);
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

    private const string DisableDefaultProviders = "pulumi:disable-default-providers";

    /// <summary>The engine, not only convention, enforces explicit providers for the packages the program configures.</summary>
    [Fact]
    public void The_devvm_stack_disables_the_default_providers_of_kubernetes_vault_and_authentik()
    {
        var config = Map(Load("Pulumi.devvm.yaml"), "config");
        var disabled = Assert.IsType<YamlSequenceNode>(config.Children[new YamlScalarNode(DisableDefaultProviders)]);
        Assert.Equal(["authentik", "kubernetes", "vault"], disabled.Select(n => ((YamlScalarNode)n).Value!).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("Pulumi.devvm.yaml")]
    [InlineData("Pulumi.sandbox.yaml")]
    public void A_committed_stack_holds_secrets_only_as_secure_values_and_only_known_keys(string file)
    {
        var config = Map(Load(file), "config");
        var known = ProgramKeys().Select(ConfigKeys.Full).ToHashSet(StringComparer.Ordinal);
        foreach (var (k, v) in config.Children)
        {
            var key = ((YamlScalarNode)k).Value!;
            if (key == DisableDefaultProviders) continue;
            Assert.Contains(key, known);
            if (SecretKeys.Select(ConfigKeys.Full).Contains(key))
                Assert.NotNull(Scalar(Assert.IsType<YamlMappingNode>(v), "secure"));
            else if (key == ConfigKeys.Full(ConfigKeys.VaultSecrets) || key == ConfigKeys.Full(ConfigKeys.Rotate))
                // Maps of names to a Vault field or a serial: plain values, never a secret.
                Assert.All(Assert.IsType<YamlMappingNode>(v).Children.Values, e => Assert.IsType<YamlScalarNode>(e));
            else
                Assert.IsType<YamlScalarNode>(v);
        }
    }
}

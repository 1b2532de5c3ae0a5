using Workstation.Roster.Access;

namespace Workstation.Roster.Tests;

/// <summary>
/// The stack config, section by section (Roster/StackSections): each section reads only its own
/// keys, every key of the catalogue (<see cref="ProjectConfig"/>, the one Pulumi.yaml is checked
/// against in <see cref="ProjectConfigTests"/>) is read by exactly one section, an unset key reads
/// as the catalogue's default, a bad value names its key, and each number is checked at its limits.
/// </summary>
public sealed class StackSectionsTests
{
    /// <summary>Every section, by name, with its keys and a read of all of them (the switches on).</summary>
    private static readonly (string Name, IReadOnlyList<string> Keys, Action<Func<string, string?>> Read)[] Sections =
    [
        ("program", ProgramSection.Keys, get => ProgramSection.Read(get)),
        ("ssh", SshSection.Keys, get => SshSection.Read(get)),
        ("site", SiteSection.Keys, get => SiteSection.Read(get, authentikOn: true)),
        ("base", BaseSection.Keys, get => BaseSection.Read(get)),
        ("backup", BackupSection.Keys, get => BackupSection.Read(get)),
        ("layers", LayersSection.Keys, get => LayersSection.Read(get)),
        ("secrets", SecretsSection.Keys, get => SecretsSection.Read(get, vaultOn: true)),
    ];

    /// <summary>A valid stack that sets every key whose reading depends on another (config base, backups, memory URL) and every secret.</summary>
    private static readonly Dictionary<string, string?> Full = new(StringComparer.Ordinal)
    {
        [SshSection.SshHost] = "devvm.example.test",
        [SshSection.SshHostKey] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixtureHostKey",
        [SshSection.SshPrivateKey] = "KEY",
        [SiteSection.RepoUrl] = "https://git.example.test/team/code.git",
        [SiteSection.OidcIssuer] = "https://auth.example.test/application/o/kubernetes/",
        [SiteSection.OidcClientId] = "kubernetes",
        [SiteSection.ClusterName] = "home",
        [SiteSection.ClusterServer] = "https://k8s.example.test:6443",
        [SiteSection.VaultAddr] = "https://vault.example.test",
        [SiteSection.EdgeUser] = "t3-edge",
        [SiteSection.SnapshotUrl] = "https://chrome.example.test/state",
        [BaseSection.ConfigBaseUrl] = "https://git.example.test/team/base.git",
        [BaseSection.HostMemory] = "24G",
        [BackupSection.BackupRepository] = "/srv/restic",
        [BackupSection.BackupPassword] = "PASSWORD",
        [LayersSection.Kubeconfig] = "KUBECONFIG",
        [LayersSection.VaultToken] = "TOKEN",
        [LayersSection.AuthentikUrl] = "https://auth.example.test",
        [LayersSection.AuthentikToken] = "TOKEN",
        [LayersSection.AuthentikT3AppSlug] = "t3",
        [SecretsSection.VaultSecrets] = "{\"memory-key\": \"openclaw#claude_memory_key\"}",
        [SecretsSection.MemoryMcpUrl] = "https://memory.example.test/mcp",
    };

    private static Func<string, string?> With(params (string Key, string? Value)[] values)
    {
        var config = new Dictionary<string, string?>(Full, StringComparer.Ordinal);
        foreach (var (key, value) in values) config[key] = value;
        return key => config.GetValueOrDefault(key);
    }

    private static Func<string, string?> Without(params string[] keys) => With([.. keys.Select(k => (k, (string?)null))]);

    private static (string Key, string Message) Single<T>(Section<T> section) => Assert.Single(section.Errors);

    // --- the catalogue ----------------------------------------------------------------------

    [Fact]
    public void Every_catalogue_key_and_every_retired_key_belongs_to_exactly_one_section()
    {
        var owners = Sections.SelectMany(s => s.Keys.Select(k => (Key: k, s.Name))).ToList();
        var twice = owners.GroupBy(o => o.Key).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(o => o.Name))}");
        Assert.Empty(twice);
        Assert.Equal(
            ProjectConfig.Entries.Select(e => e.Key).Concat(ProjectConfig.Retired).Order(StringComparer.Ordinal),
            owners.Select(o => o.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Each_section_reads_every_key_it_declares_and_no_other()
    {
        foreach (var (name, keys, read) in Sections)
        {
            var asked = new HashSet<string>(StringComparer.Ordinal);
            read(key =>
            {
                asked.Add(key);
                return Full.GetValueOrDefault(key);
            });
            Assert.True(keys.ToHashSet().SetEquals(asked),
                $"{name} declares {string.Join(",", keys.Order(StringComparer.Ordinal))} but read {string.Join(",", asked.Order(StringComparer.Ordinal))}");
        }
    }

    [Fact]
    public void A_section_asking_for_a_key_it_does_not_declare_is_a_programming_error()
    {
        var c = new SectionConfig(SshSection.Keys, Full.GetValueOrDefault);
        Assert.Throws<InvalidOperationException>(() => c.Get(SiteSection.VaultAddr));
    }

    [Fact]
    public void The_full_stack_is_valid_in_every_section()
    {
        Assert.Empty(SshSection.Read(Full.GetValueOrDefault).Errors);
        Assert.Empty(SiteSection.Read(Full.GetValueOrDefault, authentikOn: true).Errors);
        Assert.Empty(BaseSection.Read(Full.GetValueOrDefault).Errors);
        Assert.Empty(BackupSection.Read(Full.GetValueOrDefault).Errors);
        Assert.Empty(LayersSection.Read(Full.GetValueOrDefault).Errors);
        Assert.Empty(SecretsSection.Read(Full.GetValueOrDefault, vaultOn: true).Errors);
    }

    // --- ssh --------------------------------------------------------------------------------

    [Fact]
    public void Ssh_an_unset_port_and_user_read_as_the_catalogues_defaults()
    {
        var ssh = SshSection.Read(Without(SshSection.SshPort, SshSection.SshUser));
        Assert.Empty(ssh.Errors);
        Assert.Equal(ProjectConfig.DefaultOf(SshSection.SshPort), ssh.Value.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(ProjectConfig.DefaultOf(SshSection.SshUser), ssh.Value.User);
    }

    // --- site -------------------------------------------------------------------------------

    [Fact]
    public void Site_unset_optional_keys_read_as_the_catalogues_defaults()
    {
        var site = SiteSection.Read(Without(SiteSection.T3Command, SiteSection.EdgeUser, SiteSection.SnapshotUrl, SiteSection.RestartIdleMinutes, SiteSection.OidcGrantTypeKey),
            authentikOn: false);
        Assert.Empty(site.Errors);
        Assert.Equal(ProjectConfig.DefaultOf(SiteSection.T3Command), site.Value.T3Command);
        Assert.Null(site.Value.EdgeUser);
        Assert.Null(site.Value.SnapshotUrl);
        // The catalogue's 20 is the host's own default: no flag on the site command.
        Assert.Null(site.Value.RestartIdleMinutes);
        Assert.Equal(ProjectConfig.DefaultOf(SiteSection.OidcGrantTypeKey), site.Value.OidcGrantType.Name());
    }

    [Theory]
    [InlineData("-1", false, null)]
    [InlineData("0", true, 0)]
    [InlineData("1", true, 1)]
    [InlineData("19", true, 19)]
    [InlineData("20", true, null)]
    [InlineData("21", true, 21)]
    [InlineData("1439", true, 1439)]
    [InlineData("1440", true, 1440)]
    [InlineData("1441", false, null)]
    public void Site_restart_idle_minutes_pass_from_0_to_1440_and_the_hosts_default_sends_no_flag(string minutes, bool ok, int? read)
    {
        var site = SiteSection.Read(With((SiteSection.RestartIdleMinutes, minutes)), authentikOn: true);
        if (ok) Assert.Empty(site.Errors);
        else Assert.Equal((SiteSection.RestartIdleMinutes, $"'{minutes}' is not a number of minutes (0-1440)"), Single(site));
        Assert.Equal(read, site.Value.RestartIdleMinutes);
    }

    // --- base -------------------------------------------------------------------------------

    [Fact]
    public void Base_unset_keys_read_as_the_catalogues_defaults_which_add_nothing_to_the_base_step()
    {
        var read = BaseSection.Read(_ => null);
        Assert.Empty(read.Errors);
        Assert.Equal(new BaseSettings(), read.Value.Base with { TakeOver = new BaseSettings().TakeOver });
        Assert.Empty(read.Value.Base.TakeOver);
        Assert.Null(read.Value.Capacity);
        Assert.Equal($"{HostCommands.Cli} base apply --inputs-sha256 {new string('a', 64)}", HostCommands.Base(new string('a', 64), read.Value.Base));
    }

    /// <summary>The reserve must leave something of memory plus swap: at 4G + 1G it leaves nothing; a byte less leaves a byte.</summary>
    [Theory]
    [InlineData("5368709119", true)]
    [InlineData("5G", false)]
    [InlineData("5368709121", false)]
    public void Base_memory_reserve_must_stay_below_memory_and_swap(string reserve, bool ok)
    {
        var read = BaseSection.Read(With((BaseSection.HostMemory, "4G"), (BaseSection.SwapSize, "1G"), (BaseSection.MemoryReserve, reserve)));
        if (ok)
        {
            Assert.Empty(read.Errors);
            Assert.Equal(1, read.Value.Capacity!.Limit);
        }
        else Assert.Equal(BaseSection.MemoryReserve, Single(read).Key);
    }

    [Fact]
    public void Base_the_config_base_carries_its_ref_and_hooks_and_the_take_over_list_its_targets()
    {
        var read = BaseSection.Read(With((BaseSection.ConfigBaseHooks, "true"), (BaseSection.TakeOver, "[\"/etc/skel/.zshrc\", \"/etc/systemd/system/t3-serve@.service\"]")));
        Assert.Empty(read.Errors);
        Assert.Equal(new ConfigBaseSource("https://git.example.test/team/base.git", "main", Hooks: true), read.Value.Base.ConfigBase);
        Assert.Equal([new SharedFiles.BaseTarget("/etc/skel/.zshrc"), new SharedFiles.UnitTarget("/etc/systemd/system/t3-serve@.service", "t3-serve@.service")],
            read.Value.Base.TakeOver);
    }

    /// <summary>One record carries every option, in the order docs/host.md gives them; a unit template goes to the installer, not here.</summary>
    [Fact]
    public void The_base_step_is_built_from_one_record_with_every_option_in_its_place()
    {
        var all = new BaseSettings
        {
            SwapSize = "8G", Swappiness = 10, ToolsMirror = "/srv/tools", PinnedTools = false, OwnLauncher = false, NodeExporter = "off",
            ConfigBase = new ConfigBaseSource("https://git.example.test/base.git", "v1", Hooks: true), ClaudeCodeIfMissing = true, T3Package = "t3@1.2.3",
            TakeOver = [new SharedFiles.BaseTarget("/etc/skel/.zshrc"), new SharedFiles.UnitTarget("/etc/systemd/system/t3-serve@.service", "t3-serve@.service")],
        };
        Assert.Equal(
            $"{HostCommands.Cli} base apply --inputs-sha256 {new string('b', 64)} --swap-size 8G --swappiness 10 --tools-mirror /srv/tools --no-pinned-tools --no-launcher " +
            "--node-exporter off --config-base https://git.example.test/base.git --config-base-ref v1 --config-base-hooks --claude-code if-missing --t3-package t3@1.2.3 " +
            "--take-over /etc/skel/.zshrc",
            HostCommands.Base(new string('b', 64), all));
        // Hooks without a config base say nothing.
        Assert.DoesNotContain("hooks", HostCommands.Base(new string('b', 64), new BaseSettings()), StringComparison.Ordinal);
    }

    // --- backup -----------------------------------------------------------------------------

    [Fact]
    public void Backup_is_off_unless_a_repository_is_set_and_then_keeps_the_catalogues_retention()
    {
        var off = BackupSection.Read(Without(BackupSection.BackupRepository, BackupSection.BackupPassword));
        Assert.Empty(off.Errors);
        Assert.Null(off.Value.Backup);
        Assert.Equal(ProjectConfig.DefaultOf(BackupSection.PurgeArchiveDir), off.Value.PurgeArchiveDir);

        var on = BackupSection.Read(Full.GetValueOrDefault);
        Assert.Empty(on.Errors);
        Assert.Equal(new BackupSettings("/srv/restic",
            int.Parse(ProjectConfig.DefaultOf(BackupSection.BackupKeepDaily)!, System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(ProjectConfig.DefaultOf(BackupSection.BackupKeepWeekly)!, System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(ProjectConfig.DefaultOf(BackupSection.BackupKeepMonthly)!, System.Globalization.CultureInfo.InvariantCulture),
            ProjectConfig.DefaultOf(BackupSection.BackupOnCalendar)!), on.Value.Backup);
    }

    /// <summary>A retention that keeps nothing is refused; one kept snapshot, of any kind, is enough.</summary>
    [Theory]
    [InlineData("0", "0", "0", false)]
    [InlineData("0", "0", "1", true)]
    [InlineData("1", "0", "0", true)]
    public void Backup_a_retention_must_keep_at_least_one_snapshot(string daily, string weekly, string monthly, bool ok)
    {
        var read = BackupSection.Read(With((BackupSection.BackupKeepDaily, daily), (BackupSection.BackupKeepWeekly, weekly), (BackupSection.BackupKeepMonthly, monthly)));
        if (ok) Assert.Empty(read.Errors);
        else Assert.Equal(BackupSection.BackupKeepDaily, Single(read).Key);
    }

    // --- layers -----------------------------------------------------------------------------

    [Fact]
    public void Layers_unset_keys_read_as_the_catalogues_defaults_every_layer_on()
    {
        var read = LayersSection.Read(Without(LayersSection.Kubeconfig, LayersSection.VaultToken, LayersSection.EnableKubernetes, LayersSection.EnableVault,
            LayersSection.EnableAuthentik, LayersSection.KubeContext, LayersSection.VaultKvMount, LayersSection.VaultUsersPath, LayersSection.VaultOidcMount,
            LayersSection.VaultOidcMountAccessor, LayersSection.VaultOidcUserClaim));
        Assert.Empty(read.Errors);
        Assert.Equal(new KubeLayer(null, Kubeconfig: false), read.Value.Kubernetes);
        Assert.Equal(new VaultLayer(VaultOptions.Default, null, Token: false), read.Value.Vault);
        Assert.Equal(new AuthentikLayer("https://auth.example.test", "t3"), read.Value.Authentik);
    }

    [Fact]
    public void Layers_switched_off_are_null_and_their_keys_are_not_required()
    {
        var read = LayersSection.Read(With((LayersSection.EnableKubernetes, "false"), (LayersSection.EnableVault, "false"), (LayersSection.EnableAuthentik, "false"),
            (LayersSection.AuthentikUrl, null), (LayersSection.AuthentikToken, null), (LayersSection.AuthentikT3AppSlug, null)));
        Assert.Empty(read.Errors);
        Assert.Equal(new Layers(null, null, null), read.Value);
    }

    /// <summary>The import plan reads the layers through the program's own readers: the same value gets the same words.</summary>
    [Theory]
    [InlineData(LayersSection.EnableKubernetes, "maybe")]
    [InlineData(LayersSection.KubeContext, "a b")]
    [InlineData(LayersSection.VaultOidcMount, "oidc/")]
    [InlineData(LayersSection.VaultOidcMountAccessor, "auth oidc")]
    [InlineData(LayersSection.VaultOidcUserClaim, "mail")]
    public void The_import_plan_and_the_program_word_a_bad_layer_value_alike(string key, string value)
    {
        var get = With((key, value));
        var (_, importErrors) = ImportStack.FromConfig("Pulumi.devvm.yaml", get);
        Assert.Equal(Single(LayersSection.Read(get)), Assert.Single(importErrors));
    }

    // --- secrets ----------------------------------------------------------------------------

    [Fact]
    public void Secrets_unset_read_as_the_catalogues_empty_maps()
    {
        var read = SecretsSection.Read(_ => null, vaultOn: false);
        Assert.Empty(read.Errors);
        Assert.Empty(read.Value.Fields);
        Assert.Empty(read.Value.Rotate);
        Assert.Null(read.Value.MemoryMcpUrl);
    }

    [Fact]
    public void Secrets_from_vault_need_the_vault_layer()
    {
        var (k, m) = Single(SecretsSection.Read(Full.GetValueOrDefault, vaultOn: false));
        Assert.Equal(SecretsSection.VaultSecrets, k);
        Assert.Equal("needs Vault: the secrets are read from it, and workstation:enableVault is false", m);
    }

    // --- every number at its limits ----------------------------------------------------------

    /// <summary>One number as its section read it (null: not read); a rotation serial is memory-key's.</summary>
    private static int? NumberOf(string key, Func<string, string?> get) => key switch
    {
        SshSection.SshPort => SshSection.Read(get).Value.Port,
        BaseSection.Swappiness => BaseSection.Read(get).Value.Base.Swappiness,
        BaseSection.CapacityWarnPercent => BaseSection.Read(get).Value.Capacity?.WarnPercent,
        BackupSection.BackupKeepDaily => BackupSection.Read(get).Value.Backup?.KeepDaily,
        BackupSection.BackupKeepWeekly => BackupSection.Read(get).Value.Backup?.KeepWeekly,
        BackupSection.BackupKeepMonthly => BackupSection.Read(get).Value.Backup?.KeepMonthly,
        SecretsSection.Rotate => SecretsSection.Read(get, vaultOn: true).Value.Rotate.TryGetValue(SharedSecret.MemoryKey, out var n) ? n : null,
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, null),
    };

    /// <summary>The cases of the test below: per key, the six values at and around its limits.</summary>
    public static TheoryData<string, string, string?> NumbersAtTheirLimits()
    {
        var data = new TheoryData<string, string, string?>();
        // One range: the six values at and around its limits, and the error of the two beyond ({0}: the value).
        // keys: one for all six, or one per value (the backup counts share a range).
        void Range(int low, int high, string error, params string[] keys)
        {
            int[] values = [low - 1, low, low + 1, high - 1, high, high + 1];
            for (var i = 0; i < values.Length; i++)
            {
                var text = values[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
                var beyond = i == 0 || i == values.Length - 1;
                data.Add(keys.Length == 1 ? keys[0] : keys[i], text, beyond ? string.Format(System.Globalization.CultureInfo.InvariantCulture, error, text) : null);
            }
        }
        Range(1, 65535, "'{0}' is not a TCP port (1-65535)", SshSection.SshPort);
        Range(0, 200, "'{0}' is not a swappiness (0-200)", BaseSection.Swappiness);
        Range(1, 100, "'{0}' is not a percentage (1-100)", BaseSection.CapacityWarnPercent);
        Range(0, 9999, "'{0}' is not a count (0-9999)",
            BackupSection.BackupKeepDaily, BackupSection.BackupKeepDaily, BackupSection.BackupKeepDaily,
            BackupSection.BackupKeepWeekly, BackupSection.BackupKeepWeekly, BackupSection.BackupKeepMonthly);
        // The serial's message doesn't repeat the value.
        Range(0, 999999, "is not a rotation serial (a whole number, 0-999999)", SecretsSection.Rotate);
        return data;
    }

    /// <summary>
    /// Each whole-number key at its lower and upper limit, one inside each, and one beyond each: the
    /// value is read as given, or named by its key and its section alone. (restartIdleMinutes, with
    /// its host default, and the memory reserve, a limit between keys, have their own tests.)
    /// </summary>
    [Theory]
    [MemberData(nameof(NumbersAtTheirLimits))]
    public void A_number_passes_at_its_limits_and_is_named_one_beyond(string key, string text, string? error)
    {
        var get = With((key, key == SecretsSection.Rotate ? $"{{\"memory-key\": {text}}}" : text));
        var owner = Sections.Single(s => s.Keys.Contains(key)).Name;
        if (error is null)
        {
            Assert.All(Sections.Where(s => s.Name != "program"), s => Assert.Empty(ErrorsOf(s.Name, get)));
            Assert.Equal(int.Parse(text, System.Globalization.CultureInfo.InvariantCulture), NumberOf(key, get));
            return;
        }
        var (k, m) = Assert.Single(ErrorsOf(owner, get));
        Assert.StartsWith(key, k, StringComparison.Ordinal);
        Assert.Equal(error, m);
        Assert.All(Sections.Where(s => s.Name != "program" && s.Name != owner), s => Assert.Empty(ErrorsOf(s.Name, get)));
    }

    // --- bad input, section by section ----------------------------------------------------

    /// <summary>Each section's reading of one config, by the section's name (the switches on).</summary>
    private static IReadOnlyList<(string Key, string Message)> ErrorsOf(string section, Func<string, string?> get) => section switch
    {
        "ssh" => SshSection.Read(get).Errors,
        "site" => SiteSection.Read(get, authentikOn: true).Errors,
        "base" => BaseSection.Read(get).Errors,
        "backup" => BackupSection.Read(get).Errors,
        "layers" => LayersSection.Read(get).Errors,
        "secrets" => SecretsSection.Read(get, vaultOn: true).Errors,
        _ => throw new ArgumentOutOfRangeException(nameof(section), section, null),
    };

    /// <summary>A bad or missing value is named, by its key, by the one section that owns the key, and by no other.</summary>
    [Theory]
    [InlineData("ssh", SshSection.SshHost, "dev vm", "'dev vm' contains whitespace")]
    [InlineData("ssh", SshSection.SshPrivateKey, "", "required: the SSH private key, as a secret")]
    [InlineData("site", SiteSection.OidcGrantTypeKey, "password", "'password' is not ")]
    [InlineData("site", SiteSection.EdgeUser, null, "required with Authentik on")]
    [InlineData("base", BaseSection.ConfigBaseRef, "a b", "'a b' is not a branch, tag or commit of the config base")]
    // Switches the program read only after its checks before the split: a bad one was taken as on, unnamed.
    [InlineData("base", BaseSection.PinnedTools, "maybe", "'maybe' is not true or false")]
    [InlineData("base", BaseSection.OwnLauncher, "maybe", "'maybe' is not true or false")]
    [InlineData("backup", BackupSection.BackupPassword, "", "required with workstation:backupRepository: the restic repository password")]
    [InlineData("backup", BackupSection.BackupOnCalendar, "daily;reboot", "'daily;reboot' is not a systemd calendar expression")]
    [InlineData("backup", BackupSection.PurgeArchiveDir, "/var/.hidden", "'/var/.hidden' is not an absolute path on the devvm")]
    [InlineData("layers", LayersSection.EnableVault, "no", "'no' is not true or false")]
    [InlineData("layers", LayersSection.AuthentikToken, "", "required: an Authentik API token, as a secret")]
    [InlineData("secrets", SecretsSection.VaultSecrets, "{\"kube-token\": \"k#t\"}", "is per person, not shared")]
    [InlineData("secrets", SecretsSection.MemoryMcpUrl, null, "required: the claude_memory MCP server's URL")]
    public void A_bad_value_is_named_by_the_section_that_owns_its_key_and_no_other(string section, string key, string? value, string message)
    {
        // Without memory-key staged (memoryMcpUrl is required exactly with it), unless that is the case.
        var get = section == "secrets" && key != SecretsSection.MemoryMcpUrl
            ? With((SecretsSection.VaultSecrets, null), (SecretsSection.MemoryMcpUrl, null), (key, value))
            : With((key, value));
        var (k, m) = Assert.Single(ErrorsOf(section, get));
        Assert.StartsWith(key, k, StringComparison.Ordinal);
        Assert.StartsWith(message, m, StringComparison.Ordinal);
        foreach (var other in Sections.Select(x => x.Name).Where(n => n != "program" && n != section))
            Assert.Empty(ErrorsOf(other, get));
    }

    // --- the program's section ------------------------------------------------------------

    [Fact]
    public void The_roster_path_reads_as_the_catalogues_default_when_unset_or_empty()
    {
        Assert.Equal(ProjectConfig.DefaultOf(ProgramSection.Roster), ProgramSection.Read(_ => null).Value);
        Assert.Equal(ProjectConfig.DefaultOf(ProgramSection.Roster), ProgramSection.Read(_ => "").Value);
        Assert.Equal("team.yaml", ProgramSection.Read(_ => "team.yaml").Value);
    }
}

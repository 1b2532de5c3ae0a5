using System.Text.Json;

namespace Workstation.Tests;

/// <summary>
/// The shared secrets come from Vault at deploy time (the mocked provider's KV v2 reads), stay
/// Pulumi secrets, and reach the host only on the secrets steps' stdin. A missing path or field
/// stops the run before any host step is sent; a rotation or an eligibility change touches only
/// the secrets steps it should.
/// </summary>
public class StagedSecretsTests
{
    private static Task<Run> RunAsync(IStackConfig? config = null, MockWorld? world = null, string? roster = null, bool preview = false) =>
        Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(roster), Fixture.Settings(config ?? Fixture.Config()), Fixture.Bundle).Outputs, world, preview);

    [Fact]
    public async Task Every_vault_read_is_a_secret_and_each_path_is_read_once()
    {
        IReadOnlyDictionary<SharedSecret, Output<string>>? reads = null;
        var run = await Harness.RunAsync(() =>
        {
            var settings = Fixture.Settings();
            var vault = new Pulumi.Vault.Provider("v", new Pulumi.Vault.ProviderArgs { Address = "https://vault.example.test" });
            reads = StagedSecrets.Read(settings.Secrets.Fields, "secret", vault);
            return new Dictionary<string, object?>();
        });
        Assert.Equal(SharedSecrets.All.Where(s => !s.IsPersonal()).Order(), reads!.Keys.Order());
        foreach (var (secret, value) in reads)
            Assert.True(await Output.IsSecretAsync(value), $"{secret.Name()}: the value read from Vault is not a secret output");
        Assert.Equal("https://ha.example.test/api/mcp/fixture-ha-secret-9b2e", await Pulumi.Utilities.OutputUtilities.GetValueAsync(reads[SharedSecret.HaUrl]));
        // openclaw holds two of them: one read. Four paths in all, through the stack's provider.
        var kv = run.Calls!.Where(c => c.Token == Types.GetKvSecretV2).Select(c => (string)c.Args["name"]).Order().ToList();
        Assert.Equal(["beads", "chrome-service", "claude-code", "forgejo", "openclaw"], kv);
    }

    [Fact]
    public async Task Each_read_goes_through_the_stacks_vault_provider()
    {
        var run = await RunAsync();
        var reads = run.Calls!.Where(c => c.Token == Types.GetKvSecretV2).ToList();
        Assert.Equal(5, reads.Count);
        Assert.All(reads, c => Assert.Contains($"{Types.VaultProvider}::{AccessLayer.VaultProviderName}::", c.Provider, StringComparison.Ordinal));
        Assert.All(reads, c => Assert.Equal("secret", c.Args["mount"]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_missing_field_stops_the_run_naming_the_config_key_and_no_host_step_is_sent(bool preview)
    {
        var kv = new Dictionary<string, IReadOnlyDictionary<string, string>>(Fixture.VaultKv)
        {
            ["secret/openclaw"] = new Dictionary<string, string> { ["claude_memory_key"] = Fixture.MemoryKey },
        };
        var (mock, seen) = Harness.Mocks(new MockWorld { VaultKv = kv });
        var e = await Assert.ThrowsAnyAsync<Exception>(() => Deployment.TestAsync(mock.Object, preview ? Harness.PreviewOptions : Harness.Options,
            () => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs));
        Assert.Contains("workstation:vaultSecrets[\"ha-url\"]: Vault's secret/openclaw has no field 'ha_sofia_mcp_url' (or it is empty); nothing was changed",
            e.ToString(), StringComparison.Ordinal);
        // Every host step waits for every read: none reached the engine, so none ran.
        Assert.DoesNotContain(seen, r => r.Type == Types.Command);
        Assert.All(Fixture.VaultSecrets, v => Assert.DoesNotContain(v, e.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_missing_path_stops_the_run_naming_every_key_that_reads_it()
    {
        var kv = Fixture.VaultKv.Where(p => p.Key != "secret/openclaw").ToDictionary(p => p.Key, p => p.Value);
        var (mock, seen) = Harness.Mocks(new MockWorld { VaultKv = kv });
        var e = await Assert.ThrowsAnyAsync<Exception>(() => Deployment.TestAsync(mock.Object, Harness.Options,
            () => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs));
        Assert.Contains("workstation:vaultSecrets[\"ha-url\"], workstation:vaultSecrets[\"memory-key\"]: cannot read secret/openclaw from Vault",
            e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(seen, r => r.Type == Types.Command);
    }

    [Fact]
    public async Task A_rotation_updates_exactly_the_holders_secrets_steps()
    {
        var before = await RunAsync();
        var after = await RunAsync(Fixture.Config().With(ConfigKeys.Rotate, "{\"snapshot-token\": 1}"));
        var changed = Changed(before, after);
        Assert.Equal(["alice-secrets", "bob-secrets", "wiz-secrets"], changed);
        Assert.EndsWith(" --rotate snapshot-token=1 --memory-url https://memory.example.test/mcp", after.Command("bob-secrets").StepLine("create"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotating_a_secret_nobody_holds_changes_nothing()
    {
        // The golden roster makes no one eligible for ha-url.
        var before = await RunAsync();
        var after = await RunAsync(Fixture.Config().With(ConfigKeys.Rotate, "{\"ha-url\": 4}"));
        Assert.Empty(Changed(before, after));
    }

    [Fact]
    public async Task A_new_secret_value_in_vault_changes_only_stdin_so_existing_homes_keep_theirs()
    {
        var before = await RunAsync();
        var kv = new Dictionary<string, IReadOnlyDictionary<string, string>>(Fixture.VaultKv)
        {
            ["secret/chrome-service"] = new Dictionary<string, string> { ["token"] = "fixture-snapshot-token-NEW" },
        };
        var after = await RunAsync(world: new MockWorld { VaultKv = kv });
        Assert.Equal(["alice-secrets", "bob-secrets", "wiz-secrets"], Changed(before, after));
        // Only stdin differs: the command line (so the host's create-if-absent rule) is the same.
        Assert.Equal(before.Command("bob-secrets").Str("create"), after.Command("bob-secrets").Str("create"));
        Assert.Contains("fixture-snapshot-token-NEW", after.Command("bob-secrets").Str("stdin"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unstaging_a_secret_in_config_is_an_update_of_every_holder_that_drops_its_name()
    {
        var before = await RunAsync();
        var fields = JsonSerializer.Deserialize<Dictionary<string, string>>(Fixture.VaultSecretsJson)!;
        fields.Remove("beads-key");
        var after = await RunAsync(Fixture.Config().With(ConfigKeys.VaultSecrets, JsonSerializer.Serialize(fields)));
        Assert.Equal(["alice-secrets", "bob-secrets", "wiz-secrets"], Changed(before, after));
        Assert.Contains(" --secrets memory-key,repo-token,snapshot-token --values-stdin", after.Command("alice-secrets").StepLine("create"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Eligibility_in_the_roster_changes_only_that_persons_secrets_step()
    {
        var before = await RunAsync();
        var after = await RunAsync(roster: RosterEdit.Golden()
            .Set("bob", "ha", new YamlDotNet.RepresentationModel.YamlScalarNode("true"))
            .Set("bob", "claude_login", new YamlDotNet.RepresentationModel.YamlScalarNode("shared")).Text());
        Assert.Equal(["bob-secrets"], Changed(before, after));
        Assert.Contains(" --secrets beads-key,claude-credentials,ha-url,memory-key,repo-token,snapshot-token --values-stdin", after.Command("bob-secrets").StepLine("create"), StringComparison.Ordinal);
        var bundle = JsonSerializer.Deserialize<Dictionary<string, string>>(after.Command("bob-secrets").Str("stdin")!)!;
        Assert.Equal(Fixture.HaUrl, bundle["ha-url"]);
        Assert.Equal(Fixture.ClaudeCredentials, bundle["claude-credentials"]);

        // memory: none takes the key away: the name leaves the line, and the memory URL with it.
        var none = await RunAsync(roster: RosterEdit.Golden().Set("alice", "memory", new YamlDotNet.RepresentationModel.YamlScalarNode("none")).Text());
        Assert.Equal(["alice-secrets"], Changed(before, none));
        Assert.EndsWith(" --secrets beads-key,repo-token,snapshot-token --values-stdin", none.Command("alice-secrets").StepLine("create"), StringComparison.Ordinal);
    }

    private static List<string> Changed(Run before, Run after) =>
        after.Registrations.Where(r => !before.Registrations.Any(b => b.Key == r.Key && b.Canonical == r.Canonical))
            .Select(r => r.Name).Order(StringComparer.Ordinal).ToList();
}

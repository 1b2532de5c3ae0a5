using Pulumi.Command.Remote;
using Pulumi.Utilities;

namespace Workstation.Tests;

/// <summary>
/// `kube_auth: service-account-token` (issue 24 §3): the person's own kube token is read from their
/// own Vault path, travels only on their secrets step's stdin as a secret, and reaches no one else.
/// </summary>
public class KubeTokenTests
{
    private const string BobToken = "fixture-bob-kube-token-6c2d";
    private const string AliceToken = "fixture-alice-kube-token-never-staged-91fe";

    /// <summary>The golden roster with bob on the fallback.</summary>
    private static readonly string BobOnToken = Fixture.RosterText.Replace(
        "    uid: 2002\n", "    uid: 2002\n    kube_auth: service-account-token\n", StringComparison.Ordinal);

    /// <summary>The mocked Vault with each person's own secret (alice's too: on oidc, it must never be read).</summary>
    private static MockWorld World(string? bobToken = BobToken) => new()
    {
        VaultKv = new Dictionary<string, IReadOnlyDictionary<string, string>>(Fixture.VaultKv)
        {
            ["secret/users/bob"] = bobToken is null ? new Dictionary<string, string> { ["other"] = "x" } : new Dictionary<string, string> { ["kube-token"] = bobToken },
            ["secret/users/alice"] = new Dictionary<string, string> { ["kube-token"] = AliceToken },
        },
    };

    private static IDictionary<string, object?> Program(IStackConfig? config = null) =>
        WorkstationStack.Build(Fixture.Roster(BobOnToken), Fixture.Settings(config ?? Fixture.Config()), Fixture.Bundle).Outputs;

    [Fact]
    public void The_fixture_puts_bob_on_the_service_account_token()
    {
        Assert.NotEqual(Fixture.RosterText, BobOnToken);
    }

    [Fact]
    public async Task The_persons_secrets_step_reads_their_own_vault_path_through_the_stacks_provider()
    {
        var run = await Harness.RunAsync(() => Program(), World());
        var own = run.Calls!.Where(c => c.Token == Types.GetKvSecretV2 && (string)c.Args["name"] == "users/bob").ToList();
        Assert.Single(own);
        Assert.Equal("secret", own[0].Args["mount"]);
        Assert.Contains($"{Types.VaultProvider}::{AccessLayer.VaultProviderName}::", own[0].Provider, StringComparison.Ordinal);
        // Nobody else's own path is read: alice is on oidc.
        Assert.DoesNotContain(run.Calls!, c => c.Token == Types.GetKvSecretV2 && ((string)c.Args["name"]).StartsWith("users/", StringComparison.Ordinal) && (string)c.Args["name"] != "users/bob");
    }

    [Fact]
    public async Task The_token_goes_only_on_the_persons_stdin_and_their_steps_say_the_fallback()
    {
        var run = await Harness.RunAsync(() => Program(), World());
        Assert.Contains(BobToken, run.Command("bob-secrets").Str("stdin"), StringComparison.Ordinal);
        Assert.Contains(" --secrets beads-key,kube-token,memory-key,repo-token,snapshot-token --values-stdin", run.Command("bob-secrets").Str("create"), StringComparison.Ordinal);
        Assert.EndsWith(" --kube-auth service-account-token", run.Command("bob-account").StepLine("create"), StringComparison.Ordinal);
        foreach (var other in new[] { "alice", "wiz" })
        {
            Assert.DoesNotContain(BobToken, run.Command($"{other}-secrets").Str("stdin"), StringComparison.Ordinal);
            Assert.DoesNotContain("kube-token", run.Command($"{other}-secrets").Str("create"), StringComparison.Ordinal);
            Assert.DoesNotContain("--kube-auth", run.Command($"{other}-account").Str("create"), StringComparison.Ordinal);
        }
        Assert.DoesNotContain(run.Registrations, r => r.Type == Types.Command && r.Inputs.Values.OfType<string>().Any(v => v.Contains(AliceToken, StringComparison.Ordinal)));
        // Never in any command line.
        Assert.DoesNotContain(run.Registrations, r => r.Type == Types.Command && new[] { "create", "update", "delete" }.Any(k => r.Inputs.TryGetValue(k, out var v) && v is string s && s.Contains(BobToken, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task The_token_is_a_secret_stdin_and_a_secret_output()
    {
        var (constructed, _) = await Probe.RunAsync(() =>
            WorkstationStack.Build(Fixture.Roster(BobOnToken), Fixture.Settings(Fixture.Config(secretsAsPlainOutputs: true)), Fixture.Bundle).Outputs, World());
        var bob = constructed.Single(c => c.Resource is Command && c.Resource.GetResourceName() == "bob-secrets");
        var stdin = ((CommandArgs)bob.Args).Stdin!.ToOutput();
        Assert.Contains(BobToken, await OutputUtilities.GetValueAsync(stdin), StringComparison.Ordinal);
        Assert.True(await Output.IsSecretAsync(stdin), "bob-secrets: stdin (his own kube token) is not a secret");
        Assert.Contains("stdin", ((CustomResourceOptions)bob.Options).AdditionalSecretOutputs);
    }

    [Fact]
    public async Task A_missing_token_stops_the_run_naming_the_person_and_no_host_step_is_sent()
    {
        var (mock, seen) = Harness.Mocks(World(bobToken: null));
        var e = await Assert.ThrowsAnyAsync<Exception>(() => Deployment.TestAsync(mock.Object, Harness.Options, () => Program()));
        Assert.Contains("users.bob.kube_auth (service-account-token): Vault's secret/users/bob has no field 'kube-token' (or it is empty); nothing was changed",
            e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(seen, r => r.Type == Types.Command);
    }

    [Fact]
    public void The_kube_token_is_not_a_shared_vault_secret()
    {
        var (settings, errors) = StackSettings.Load(Fixture.Config().With(ConfigKeys.VaultSecrets,
            Fixture.VaultSecretsJson.Replace("}", ",\"kube-token\":\"k8s#token\"}", StringComparison.Ordinal)));
        Assert.Null(settings);
        Assert.Contains(errors, e => e.ToString().Contains("vaultSecrets[\"kube-token\"]", StringComparison.Ordinal)
            && e.ToString().Contains("is per person, not shared", StringComparison.Ordinal));
    }
}

using System.Text.Json;

namespace Workstation.Tests;

/// <summary>
/// Issue 24 §4, the order problem: the code step runs before the secrets step (the beads key goes
/// into the clone), so with a repo token staged the code step leaves the first clone to the
/// secrets step, which stages the token and then clones.
/// </summary>
public class RepoTokenOrderTests
{
    [Fact]
    public async Task S4_With_the_repo_token_staged_the_code_step_defers_and_the_secrets_step_that_clones_runs_after_it()
    {
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);
        var users = constructed.Select(c => c.Resource).OfType<WorkstationUser>().Where(u => u.AccountStep is not null).ToList();
        Assert.Equal(3, users.Count);
        async Task<IReadOnlyList<Resource>> After(Resource r) => await Probe.DependsOnAsync(constructed.Single(c => ReferenceEquals(c.Resource, r)));
        foreach (var u in users)
        {
            Assert.Contains(u.CodeStep!, await After(u.SecretsStep!));
            Assert.DoesNotContain(u.SecretsStep!, await After(u.CodeStep!));
        }

        var run = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);
        Assert.EndsWith(" user code apply alice --repo-token", run.Command("alice-code").StepLine("create"), StringComparison.Ordinal);
        Assert.Contains(",repo-token,", run.Command("alice-secrets").StepLine("create"), StringComparison.Ordinal);
        Assert.Equal(Fixture.RepoToken, JsonSerializer.Deserialize<Dictionary<string, string>>(run.Command("alice-secrets").Str("stdin")!)!["repo-token"]);
    }

    [Fact]
    public async Task S4_Without_a_repo_token_in_vaultSecrets_the_code_step_clones_on_its_own()
    {
        var fields = JsonSerializer.Deserialize<Dictionary<string, string>>(Fixture.VaultSecretsJson)!;
        fields.Remove("repo-token");
        var settings = Fixture.Settings(Fixture.Config().With(ConfigKeys.VaultSecrets, JsonSerializer.Serialize(fields)));
        var run = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), settings, Fixture.Bundle).Outputs);
        Assert.EndsWith(" user code apply alice", run.Command("alice-code").StepLine("create"), StringComparison.Ordinal);
        Assert.DoesNotContain("repo-token", run.Command("alice-secrets").StepLine("create"), StringComparison.Ordinal);
    }
}

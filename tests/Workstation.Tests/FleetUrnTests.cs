namespace Workstation.Tests;

/// <summary>
/// Issue 27: a stack that names one host (the single-host keys, or `hosts:` with one entry named
/// devvm) keeps every URN it had before fleets existed, so nothing in its state moves.
/// tests/golden/urns-one-host.txt was written from the program as it was before `hosts:` (the
/// golden roster and stack, with backups on so the backup step is pinned too).
/// </summary>
public class FleetUrnTests
{
    public static string GoldenFile => Repo.Golden("urns-one-host.txt");

    public static DictConfig OneHostConfig() =>
        Fixture.Config().With(ConfigKeys.BackupRepository, "/srv/restic/devvm").With(ConfigKeys.BackupPassword, "fixture-restic-password");

    public static async Task<string> UrnsAsync(IStackConfig config)
    {
        var (constructed, _) = await Probe.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(config), Fixture.Bundle).Outputs);
        return string.Join('\n', EngineUrns.Of(constructed).Values.Order(StringComparer.Ordinal)) + "\n";
    }

    [Fact]
    public async Task A_one_host_stack_from_the_single_host_keys_keeps_every_urn_it_had_before_fleets()
    {
        var urns = await UrnsAsync(OneHostConfig());
        if (Environment.GetEnvironmentVariable("WRITE_URN_GOLDEN") == "1") File.WriteAllText(GoldenFile, urns);
        Assert.Equal(File.ReadAllText(GoldenFile), urns);
    }
}

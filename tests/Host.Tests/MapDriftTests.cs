
namespace Host.Tests;

/// <summary>
/// Issue 26 §9, drift seen from both sides: an entry added by hand beside a person's own, in
/// the ttyd map or in dispatch.json, lets someone else reach their terminal or their t3. The
/// host's report lists every entry naming the person (not only the first), so `roster drift`
/// shows it.
/// </summary>
[Collection(SandboxCollection3.Name)]
public sealed class MapDriftTests(SandboxFixture box)
{
    private static readonly TestUser Eme = new("eme", 2660, 4760, 4860);

    [Fact]
    public async Task An_entry_beside_the_persons_own_in_either_map_is_drift()
    {
        await HostWorld.ReadyAsync(box);
        var roster = new DerivedRoster(RosterSettings.Default, [new Member.Active(Eme.Derived())]);
        async Task<List<string>> MapDrift()
        {
            var report = await box.MustAsync(HostCommands.Manual.StatusAll);
            using var doc = JsonDocument.Parse(report.Stdout);
            return Drift.Check(roster, doc.RootElement).Where(i => i.OsUser == "eme" && i.Fact.EndsWith(" entry", StringComparison.Ordinal)).Select(i => i.ToString()).ToList();
        }
        try
        {
            await box.MustAsync(Eme.Apply(), stdin: Eme.TokenStdin);
            await box.MustAsync(HostCommands.Maps([Eme.Derived()]));
            Assert.Empty(await MapDrift());

            await box.ScriptAsync("""
                set -euo pipefail
                cp -p /etc/ttyd-user-map /root/ttyd-user-map.ws-test
                cp -p /etc/t3-serve/dispatch.json /root/dispatch.json.ws-test
                echo 'mallory eme' >> /etc/ttyd-user-map
                jq '. + {"mallory": {"os_user": "eme", "port": 4760}}' /etc/t3-serve/dispatch.json > /etc/t3-serve/dispatch.json.new
                mv -f /etc/t3-serve/dispatch.json.new /etc/t3-serve/dispatch.json
                """);
            Assert.Equal(
            [
                "eme: ttyd-user-map entry: expected eme.a; actual eme.a, mallory",
                "eme: dispatch.json entry: expected eme.a → port 4760; actual eme.a → port 4760, mallory → port 4760",
            ], await MapDrift());
        }
        finally
        {
            // The maps as Workstation wrote them, byte for byte (a hand edit would make the maps step refuse).
            await box.ScriptAsync("""
                [[ ! -f /root/ttyd-user-map.ws-test ]] || mv -f /root/ttyd-user-map.ws-test /etc/ttyd-user-map
                [[ ! -f /root/dispatch.json.ws-test ]] || mv -f /root/dispatch.json.ws-test /etc/t3-serve/dispatch.json
                """);
            await box.MustAsync(HostCommands.Maps([Eme.Derived()]));
        }
    }
}

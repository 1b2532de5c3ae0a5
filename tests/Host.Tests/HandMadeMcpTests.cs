
namespace Host.Tests;

/// <summary>
/// Issue 24 §11: a same-name MCP server the person made by hand is theirs. Staging leaves it
/// alone and never records it as held, so neither a later unstage (the roster takes `ha` away)
/// nor the cut removes it.
/// </summary>
[Collection(SandboxCollection2.Name)]
public sealed class HandMadeMcpTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(90))
{
    private static readonly TestUser Hm = new("hm1", 2321, 4321, 4421);
    private const string TheirHa = "http://127.0.0.1:9/their-own-ha";

    private static string Stage(params SharedSecret[] secrets) =>
        HostCommands.Secrets(Hm.Derived(), secrets, new Dictionary<SharedSecret, int>(), null);

    private static string Bundle(params SharedSecret[] secrets) => JsonSerializer.Serialize(secrets.ToDictionary(
        s => s.Name(), s => s == SharedSecret.HaUrl ? "http://127.0.0.1:9/ha/shared-ha-6d1f" : "snap-hm1-5e2a"));

    private async Task<string> TheirServerAsync() =>
        (await box.MustAsync($"jq -c '.mcpServers.ha' {Hm.Home}/.claude.json")).Stdout.Trim();

    private async Task<string> RecordAsync() =>
        (await box.MustAsync("cat /etc/workstation/secrets-hm1.env 2>/dev/null || echo no-record")).Stdout.Trim();

    [Fact]
    public async Task S11_a_hand_made_same_name_mcp_server_is_never_recorded_as_held_and_survives_an_unstage_and_the_cut()
    {
        await box.OnboardAsync(Hm, Bounded);
        await box.ScriptAsync($$"""
            runuser -u hm1 -- sh -c 'cd ~ && jq ".mcpServers.ha = {type: \"http\", url: \"{{TheirHa}}\"}" .claude.json > .claude.json.new && mv .claude.json.new .claude.json'
            """);
        var theirs = await TheirServerAsync();
        Assert.Contains(TheirHa, theirs, StringComparison.Ordinal);

        // The roster gives hm1 `ha`: their server is left alone and ha-url is not recorded as held.
        var staged = await box.MustAsync(Stage(SharedSecret.HaUrl, SharedSecret.SnapshotToken), stdin: Bundle(SharedSecret.HaUrl, SharedSecret.SnapshotToken), timeout: Bounded);
        Assert.Contains("notice: hm1 has a ha MCP server of their own: left alone, and ha-url not recorded as staged", staged.Stdout + staged.Stderr, StringComparison.Ordinal);
        Assert.Equal(theirs, await TheirServerAsync());
        Assert.Equal("snapshot-token=0", await RecordAsync());

        // The roster takes `ha` away: the unstage doesn't touch it.
        await box.MustAsync(Stage(SharedSecret.SnapshotToken), stdin: Bundle(SharedSecret.SnapshotToken), timeout: Bounded);
        Assert.Equal(theirs, await TheirServerAsync());

        // Given again, then the cut: the one secret they held goes, their server stays.
        await box.MustAsync(Stage(SharedSecret.HaUrl, SharedSecret.SnapshotToken), stdin: Bundle(SharedSecret.HaUrl, SharedSecret.SnapshotToken), timeout: Bounded);
        var cut = await box.MustAsync(HostCommands.RemoveSecrets(Hm.Derived())!, timeout: Bounded);
        Assert.DoesNotContain("shared secret ha-url", cut.Stderr, StringComparison.Ordinal);
        Assert.Contains("revoke: hm1 held the shared secret snapshot-token", cut.Stderr, StringComparison.Ordinal);
        Assert.Equal(theirs, await TheirServerAsync());
        await box.MustAsync(Hm.Suspend());
    }
}

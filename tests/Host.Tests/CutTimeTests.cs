
namespace Host.Tests;

/// <summary>
/// Issue 28 §2, the host half of the time to revoke: `user status --json` says when the cut
/// reached the host (`cut_at`, the time of the suspension record the cut writes once), so
/// `roster access-report` can measure it against the retire's merge.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class CutTimeTests(SandboxFixture box)
{
    private static readonly TimeSpan Setup = TimeSpan.FromSeconds(180);
    private static readonly TestUser Cutt = new("cutt", 2670, 4770, 4870);

    private async Task<JsonElement> StatusAsync() =>
        JsonDocument.Parse((await box.MustAsync(Cutt.Status())).Stdout).RootElement.Clone();

    private async Task<long> BoxClockAsync() =>
        long.Parse((await box.ScriptAsync("date -u +%s")).Trim(), CultureInfo.InvariantCulture);

    [Fact]
    public async Task User_status_says_when_the_cut_reached_the_host_and_a_second_cut_keeps_that_time()
    {
        await box.OnboardAsync(Cutt, Setup);
        var active = await StatusAsync();
        Assert.Equal("active", active.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, active.GetProperty("cut_at").ValueKind);

        var before = await BoxClockAsync();
        await box.MustAsync(Cutt.Suspend(), timeout: Setup);
        var after = await BoxClockAsync();
        var cut = await StatusAsync();
        Assert.Equal("suspended", cut.GetProperty("state").GetString());
        var at = DateTimeOffset.ParseExact(cut.GetProperty("cut_at").GetString()!, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        Assert.InRange(at.ToUnixTimeSeconds(), before, after);

        // Cut again later: the time is still the first cut's (the record is written once).
        await box.ScriptAsync("sleep 1.2");
        await box.MustAsync(Cutt.Suspend(), timeout: Setup);
        Assert.Equal(cut.GetProperty("cut_at").GetString(), (await StatusAsync()).GetProperty("cut_at").GetString());

        // Back: no cut time any more.
        await box.MustAsync(Cutt.Resume(), timeout: Setup);
        Assert.Equal(JsonValueKind.Null, (await StatusAsync()).GetProperty("cut_at").ValueKind);
    }
}

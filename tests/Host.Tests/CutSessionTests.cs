
namespace Host.Tests;

/// <summary>
/// Issue 28 §2, the emergency cut's host side: `user suspend` (what `scripts/ci.sh cut` falls
/// back to when Pulumi can't run) ends a person's live SSH session within 10 s, measured in the
/// box from the moment the cut starts to the moment the person's ssh client sees the session end.
/// </summary>
[Collection(SandboxCollection3.Name)]
public sealed class CutSessionTests(SandboxFixture box, ITestOutputHelper output)
{
    private static readonly TimeSpan Setup = TimeSpan.FromSeconds(180);
    private static readonly TestUser Cuts = new("cuts", 2742, 6042, 6142);

    /// <summary>The most the cut may take to end the session.</summary>
    private const int LimitMs = 10_000;

    [Fact]
    public async Task An_emergency_cut_ends_the_persons_live_ssh_session_within_10_seconds_and_the_table_shows_what_holds()
    {
        await box.OnboardAsync(Cuts, Setup);
        await box.ScriptAsync(HostWorld.AuthorizeLoginKey(Cuts.Name));
        try
        {
            // The person's session: an ssh client in the box running `sleep 60` on their login.
            // The watch gives up at 20 s (past the limit, so a slow end is measured, not hung on).
            var facts = OnboardingTests.Facts(await box.ScriptAsync(PersonStatusTests.Login + $$"""

                set -u
                login cuts 'sleep 60' >/dev/null 2>&1 &
                client=$!
                # The session's own `sleep 60` under sshd's process of cuts (their t3 server here is a `sleep infinity`).
                live() { pgrep -u cuts -f '^sshd: cuts' >/dev/null && pgrep -u cuts -f '^sleep 60$' >/dev/null; }
                for _ in $(seq 1 100); do live && break; sleep 0.1; done
                echo "session=$(live && echo live || echo none)"
                start=$(date +%s%N)
                {{Cuts.Suspend()}} >/tmp/cuts-suspend.out 2>&1 &
                cut=$!
                while kill -0 "$client" 2>/dev/null && (( ($(date +%s%N) - start) / 1000000 < 20000 )); do sleep 0.05; done
                echo "ended_ms=$(( ($(date +%s%N) - start) / 1000000 ))"
                echo "client=$(kill -0 "$client" 2>/dev/null && echo running || echo ended)"
                kill "$client" 2>/dev/null || true
                wait "$cut"; echo "suspend_rc=$?"
                """, TimeSpan.FromSeconds(120)));
            Assert.Equal("live", facts["session"]);
            Assert.True(facts["suspend_rc"] == "0", await box.ScriptAsync("cat /tmp/cuts-suspend.out"));
            var ended = int.Parse(facts["ended_ms"], CultureInfo.InvariantCulture);
            output.WriteLine($"{ended} ms after the cut started, the person's ssh client: {facts["client"]}");
            Assert.True(facts["client"] == "ended" && ended <= LimitMs,
                $"the person's SSH session was {facts["client"]} {ended} ms after the cut started (limit {LimitMs} ms)");

            // The table of a cut person: the probes, worded as what they find.
            var text = (await box.MustAsync(HostCommands.Manual.Status(Cuts.Name).Replace(" --json", "", StringComparison.Ordinal))).Stdout;
            Assert.True(text.StartsWith("cuts: suspended, tier power-user\n  last login: 20", StringComparison.Ordinal), text);
            foreach (var line in new[] { "  cut: password login refused", "  cut: SSH key login refused", "  cut: no process left",
                         "  cut: every unit stopped and disabled", "  cut: cron and at jobs refused", "  cut: the cut holds" })
                Assert.Contains("\n" + line + "\n", text, StringComparison.Ordinal);
            Assert.Matches(@"\n  cut at: 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ\n", text);
        }
        finally
        {
            await box.MustAsync(Cuts.Resume(), timeout: Setup);
        }
    }
}

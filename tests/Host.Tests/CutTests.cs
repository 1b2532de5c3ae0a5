
namespace Host.Tests;

/// <summary>
/// Issue 25 §1, the leaver can't block the cut. The person, as themselves, shapes what the deletes
/// of their retire touch (a directory where a secret file was, a FIFO or a file the CLI can't
/// rewrite at ~/.claude.json, a terminal that ignores SIGTERM); then the retire's deletes run in
/// the order the engine runs them (<see cref="HostStep.DeleteOrder"/> over the person's steps, the
/// same list the program builds them from), a failed delete skipping what it depends on as the
/// engine does. Every delete finishes with exit 0, the cut holds, and it all takes seconds.
/// </summary>
[Collection(SandboxCollection3.Name)]
public sealed class CutTests(SandboxFixture box)
{
    /// <summary>The whole cut of a hostile person, every delete included.</summary>
    private static readonly TimeSpan CutBound = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Setup = TimeSpan.FromSeconds(180);
    private const string MemoryUrl = "http://127.0.0.1:9/memory";

    /// <summary>The secrets staged for the test: a file and an MCP server in ~/.claude.json.</summary>
    private static string Bundle(TestUser u) =>
        JsonSerializer.Serialize(new Dictionary<string, string> { ["memory-key"] = $"mem-{u.Name}-5b1e", ["snapshot-token"] = $"snap-{u.Name}-9d0c" });

    /// <summary>Onboards <paramref name="u"/> as the program does, with the snapshot token and the claude_memory server staged.</summary>
    private async Task OnboardAsync(TestUser u)
    {
        await box.OnboardAsync(u, Setup);
        await box.MustAsync(HostCommands.Secrets(u.Derived(), [SharedSecret.MemoryKey, SharedSecret.SnapshotToken], new Dictionary<SharedSecret, int>(), MemoryUrl),
            stdin: Bundle(u), timeout: Setup);
        // A session of theirs, still running when the cut starts.
        await box.ScriptAsync($"runuser -u {u.Name} -- setsid -f sleep 1000 </dev/null >/dev/null 2>&1");
    }

    private sealed record Ran(HostStep Step, SshResult? Result);

    /// <summary>
    /// What Pulumi runs when the person retires: each host step's stored delete, round by round
    /// in the engine's order; a delete that fails skips the steps it depends on (pkg/resource/deploy
    /// deployment_executor.go: erroredDeps). Returns every step, with null for one skipped or without a delete.
    /// </summary>
    private async Task<(List<Ran> Ran, TimeSpan Took)> RetireAsync(TestUser u)
    {
        var steps = HostStep.For(isAdmin: false, stagesSecrets: true);
        var skipped = new HashSet<string>(StringComparer.Ordinal);
        var ran = new List<Ran>();
        var clock = Stopwatch.StartNew();
        foreach (var round in HostStep.DeleteOrder(steps))
        {
            foreach (var step in round)
            {
                var delete = HostCommands.Delete(step, u.Derived());
                if (delete is null || skipped.Contains(step.Name))
                {
                    ran.Add(new Ran(step, null));
                    continue;
                }
                var r = await box.RunAsync(delete, timeout: CutBound);
                ran.Add(new Ran(step, r));
                if (r.ExitCode != 0) Skip(step);
            }
        }
        return (ran, clock.Elapsed);

        void Skip(HostStep failed)
        {
            foreach (var d in failed.After)
                if (skipped.Add(d)) Skip(steps.Single(s => s.Name == d));
        }
    }

    /// <summary>Every delete ran and exited 0, the whole retire took under the bound, and the host's own probes say the cut holds.</summary>
    private async Task<string> AssertCutHoldsAsync(TestUser u, List<Ran> ran, TimeSpan took)
    {
        var report = string.Join("\n", ran.Select(r => $"{r.Step.Name}: {(r.Result is null ? "not run" : r.Result.ToString())}"));
        foreach (var r in ran.Where(r => r.Step.DeleteVerb is not null))
            Assert.True(r.Result is { ExitCode: 0 }, $"the delete of {u.Name}-{r.Step.Name} did not finish with exit 0:\n{report}");
        Assert.True(took < CutBound, $"the retire took {took.TotalSeconds:F0}s:\n{report}");
        var status = JsonDocument.Parse((await box.MustAsync(u.Status())).Stdout).RootElement;
        var cut = status.GetProperty("cut");
        Assert.True(cut.GetProperty("holds").GetBoolean(), $"the cut does not hold: {cut}\n{report}");
        Assert.Equal(0, cut.GetProperty("processes").GetInt32());
        Assert.Equal("suspended", status.GetProperty("state").GetString());
        return report;
    }

    /// <summary>
    /// Onboards <paramref name="u"/>, runs LEAVE as them in their home (what they shape before they go),
    /// then retires them and asserts the cut holds; returns what each delete did.
    /// </summary>
    private async Task<List<Ran>> CutAfterAsync(TestUser u, string leave)
    {
        await OnboardAsync(u);
        await box.ScriptAsync($"runuser -u {u.Name} -- sh -c 'cd && {leave}'");
        var (ran, took) = await RetireAsync(u);
        await AssertCutHoldsAsync(u, ran, took);
        return ran;
    }

    private static string Stderr(List<Ran> ran, HostStep step) => ran.Single(r => r.Step == step).Result?.Stderr ?? "";

    /// <summary>Whether the staged values are still anywhere in the home (as root: a search, not the host's code path).</summary>
    private static string Left(TestUser u) =>
        $"grep -rlF -e mem-{u.Name}-5b1e -e snap-{u.Name}-9d0c {u.Home} 2>/dev/null | sort || true";

    [Fact]
    public async Task A_directory_where_the_snapshot_token_was_does_not_hold_up_the_cut()
    {
        var u = new TestUser("lv1", 2521, 4521, 4621);
        var ran = await CutAfterAsync(u, "rm .config/workstation/snapshot-token && mkdir .config/workstation/snapshot-token && echo keep > .config/workstation/snapshot-token/x");
        // The rest went: the server is out of ~/.claude.json; the directory is theirs and stays, named on stderr.
        Assert.Contains("~/.config/workstation/snapshot-token", Stderr(ran, HostStep.Secrets), StringComparison.Ordinal);
        Assert.Equal("", (await box.ScriptAsync(Left(u))).Trim());
        Assert.Equal("keep", (await box.ScriptAsync($"cat {u.Home}/.config/workstation/snapshot-token/x")).Trim());
        Assert.Equal("no-record", (await box.ScriptAsync($"test -e /etc/workstation/secrets-{u.Name}.env && echo record || echo no-record")).Trim());
    }

    [Fact]
    public async Task A_fifo_at_claude_json_does_not_hold_up_the_cut()
    {
        var u = new TestUser("lv2", 2522, 4522, 4622);
        // Their file moved aside (the value is in it: rotation is what revokes a copy), a FIFO in its place.
        var ran = await CutAfterAsync(u, "mv .claude.json .claude.json.mine && mkfifo .claude.json");
        var err = Stderr(ran, HostStep.Secrets);
        Assert.Contains("~/.claude.json", err, StringComparison.Ordinal);
        Assert.Contains("revoke: lv2 held the shared secret memory-key", err, StringComparison.Ordinal);
        Assert.DoesNotContain($"mem-{u.Name}-5b1e", err, StringComparison.Ordinal);
        // The token file went; the FIFO is still a FIFO (nothing of ours read or replaced it).
        Assert.Equal($"{u.Home}/.claude.json.mine", (await box.ScriptAsync(Left(u))).Trim());
        Assert.Equal("fifo", (await box.ScriptAsync($"stat -c %F {u.Home}/.claude.json | cut -c1-4")).Trim());
    }

    [Fact]
    public async Task A_claude_json_the_cli_cannot_rewrite_does_not_hold_up_the_cut()
    {
        var u = new TestUser("lv3", 2523, 4523, 4623);
        await OnboardAsync(u);
        // `claude mcp remove` fails: the file is read-only and the home refuses new names (the CLI's temp file).
        await box.ScriptAsync($"runuser -u {u.Name} -- sh -c 'cd && chmod 0400 .claude.json && chmod 0500 .'");

        var (ran, took) = await RetireAsync(u);
        try
        {
            await AssertCutHoldsAsync(u, ran, took);
            var err = Stderr(ran, HostStep.Secrets);
            Assert.Contains("lv3: could not remove the claude_memory MCP server from '~/.claude.json'", err, StringComparison.Ordinal);
            Assert.DoesNotContain($"mem-{u.Name}-5b1e", err, StringComparison.Ordinal);
            Assert.Contains("revoke: lv3 held the shared secret memory-key", err, StringComparison.Ordinal);
        }
        finally
        {
            await box.ScriptAsync($"chmod 0700 {u.Home}");
        }
    }

    /// <summary>
    /// A lock the CLI waits on and never gets (a `~/.claude.json.lock` that is never stale):
    /// `claude mcp remove` fails, so jq, as the person, writes the file without the server beside
    /// it and renames it over the old one. The server is gone, their other settings kept.
    /// </summary>
    [Fact]
    public async Task A_lock_the_claude_cli_never_gets_does_not_keep_the_server_in_claude_json()
    {
        var u = new TestUser("lv6", 2526, 4526, 4626);
        var ran = await CutAfterAsync(u, "mkdir .claude.json.lock && touch -d 2099-01-01 .claude.json.lock");
        var secrets = ran.Single(r => r.Step == HostStep.Secrets).Result!;
        Assert.True(secrets.Stdout.Contains($"/home/{u.Name}/.claude.json: removed the claude_memory MCP server (by jq: the claude CLI failed)", StringComparison.Ordinal),
            secrets.ToString());
        Assert.Equal("[\"playwright\"] lv6 600",
            (await box.ScriptAsync($"echo \"$(jq -c '.mcpServers | keys' {u.Home}/.claude.json) $(stat -c '%U %a' {u.Home}/.claude.json)\"")).Trim());
        Assert.Equal("", (await box.ScriptAsync(Left(u))).Trim());
    }

    /// <summary>
    /// t3 runs the person's terminals: one that ignores SIGTERM would hold a unit's stop for its
    /// whole stop timeout (90 s), and the cut with it. The site's t3 command here starts the
    /// person's own ~/t3-terminal beside it, as t3 does a terminal.
    /// </summary>
    [Fact]
    public async Task A_terminal_that_ignores_sigterm_does_not_hold_up_the_cut()
    {
        var u = new TestUser("lv4", 2524, 4524, 4624);
        await OnboardAsync(u);
        try
        {
            await box.MustAsync(HostWorld.SiteCommand(t3Command: "/bin/sh -c 'if [ -x ./t3-terminal ]; then ./t3-terminal & fi; exec sleep infinity'"));
            await box.ScriptAsync($$"""
                runuser -u {{u.Name}} -- sh -c 'cd && printf "#!/bin/sh\ntrap \"\" TERM\nexec sleep infinity\n" > t3-terminal && chmod 755 t3-terminal'
                systemctl restart t3-serve@{{u.Name}}.service
                # t3 and the terminal: two `sleep infinity` of theirs.
                for i in $(seq 50); do [ "$(pgrep -c -u {{u.Name}} -x -f 'sleep infinity')" -ge 2 ] && break; sleep 0.2; done
                test "$(pgrep -c -u {{u.Name}} -x -f 'sleep infinity')" -ge 2
                """);

            var (ran, took) = await RetireAsync(u);
            // The bound is the point: before, `user suspend` waited out the unit's 90 s stop timeout.
            // The cut SIGKILLs a unit before stopping it (ProcessSweepTests), so no warning is asserted here.
            await AssertCutHoldsAsync(u, ran, took);
        }
        finally
        {
            await box.MustAsync(HostWorld.SiteCommand());
        }
    }
}

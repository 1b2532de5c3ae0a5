
namespace Host.Tests;

/// <summary>
/// Issue 26 §8's shortcut (the services step asks jq, as the person, whether a playwright MCP
/// entry exists, and runs the claude CLI only when unsure) played against by the person: what
/// they make of the files it reads (~/.claude.json, a .mcp.json the CLI would read) never holds
/// the step up past seconds, never makes root read them, and never lets them read through to
/// another person's file. Each attack is set up as the person (runuser), then their services step
/// runs as the program sends it, timed here. What was already so and what the size bound fixed:
/// see each test.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class ClaudeJsonAttackTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(90))
{
    /// <summary>How long the services step may take with the attack in place (a cold one takes a few seconds).</summary>
    private static readonly TimeSpan Seconds = TimeSpan.FromSeconds(25);

    private static readonly TestUser FifoProject = new("cja1", 2700, 6000, 6100);
    private static readonly TestUser FifoUser = new("cja2", 2701, 6001, 6101);
    private static readonly TestUser Sparse = new("cja3", 2702, 6002, 6102);
    private static readonly TestUser Thief = new("cja4", 2703, 6003, 6103);
    private static readonly TestUser Victim = new("cja5", 2704, 6004, 6104);
    private static readonly TestUser Padder = new("cja6", 2850, 6250, 6350);

    /// <summary>
    /// The person's account and code steps, then ATTACK run as them in their home, then their
    /// services step, which must end within <see cref="Seconds"/> (the ssh client gives up a little
    /// later: a step held past that fails the test, naming it).
    /// </summary>
    private async Task<SshResult> ServicesUnderAttackAsync(TestUser u, string attack)
    {
        await HostWorld.ReadyAsync(box);
        var steps = u.Apply(tokenStdin: false);
        await box.MustAsync(steps.Account, timeout: Bounded);
        await box.MustAsync(steps.Code, timeout: Bounded);
        await box.MustAsync($"runuser -u {u.Name} -- sh -ec {HostCommandsQuote($"cd {u.Home}; {attack}")}");
        var clock = Stopwatch.StartNew();
        SshResult r;
        try
        {
            r = await box.RunAsync(steps.Services, timeout: Seconds + TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{u.Name}'s services step was still running after {clock.Elapsed.TotalSeconds:F0} s ({attack})");
            throw;
        }
        Assert.True(clock.Elapsed < Seconds, $"{u.Name}'s services step took {clock.Elapsed.TotalSeconds:F1} s ({attack}):\n{r}");
        return r;
    }

    private static string HostCommandsQuote(string s) => Workstation.Roster.HostCommands.Quote(s);

    private async Task CleanUpAsync(TestUser u, string undo)
    {
        await box.RunAsync($"runuser -u {u.Name} -- sh -c {HostCommandsQuote($"cd {u.Home}; {undo}")}");
        await box.RunAsync(u.Suspend());
    }

    /// <summary>
    /// <see cref="ServicesUnderAttackAsync"/>, then CHECK on the step's result; whatever happens,
    /// UNDO runs as the person in their home and they are suspended.
    /// </summary>
    private async Task UnderAttackAsync(TestUser u, string attack, string undo, Func<SshResult, Task> check)
    {
        try
        {
            await check(await ServicesUnderAttackAsync(u, attack));
        }
        finally
        {
            await CleanUpAsync(u, undo);
        }
    }

    private Task UnderAttackAsync(TestUser u, string attack, string undo, Action<SshResult> check) =>
        UnderAttackAsync(u, attack, undo, r =>
        {
            check(r);
            return Task.CompletedTask;
        });

    /// <summary>
    /// A FIFO as the home's .mcp.json (a file `claude mcp get` reads, project scope): the checks
    /// only ask whether it exists (then the CLI, as the person, answers), so nothing waits on it:
    /// the step ends within seconds, adds the entry, and the FIFO is left as it was.
    /// </summary>
    [Fact]
    public async Task A_fifo_as_the_homes_mcp_json_holds_up_no_check_and_the_step_ends_within_seconds()
    {
        await UnderAttackAsync(FifoProject, "mkfifo .mcp.json", undo: "rm -f .mcp.json", async r =>
        {
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Contains(r.Changes(), l => l.EndsWith("/home/cja1/.claude.json: playwright MCP server http://127.0.0.1:6100/mcp (claude mcp add)", StringComparison.Ordinal));
            Assert.Equal("fifo", (await box.ScriptAsync($"stat -c %F {FifoProject.Home}/.mcp.json")).Trim());
            Assert.Equal("", (await box.ScriptAsync($"pgrep -u {FifoProject.Name} -f 'claude' || true")).Trim());
        });
    }

    /// <summary>A FIFO as ~/.claude.json itself: refused by name at once, never read.</summary>
    [Fact]
    public async Task A_fifo_as_the_claude_json_is_refused_by_name_within_seconds()
    {
        await UnderAttackAsync(FifoUser, "rm -f .claude.json; mkfifo .claude.json", undo: "rm -f .claude.json", r =>
        {
            Assert.True(r.ExitCode != 0, r.ToString());
            Assert.Contains($"{FifoUser.Home}/.claude.json is not a regular file (a FIFO, socket or device?): refusing to read it; remove it and apply again", r.Stderr, StringComparison.Ordinal);
        });
    }

    /// <summary>
    /// A sparse 64 GiB ~/.claude.json (no disk of theirs spent): over the size bound, so refused by
    /// name before anything reads it; no backup copy of it is made and the file stays as it was.
    /// </summary>
    [Fact]
    public async Task A_huge_sparse_claude_json_is_refused_by_its_size_within_seconds_and_never_copied()
    {
        await UnderAttackAsync(Sparse, "rm -f .claude.json; truncate -s 64G .claude.json", undo: "rm -f .claude.json .claude.json.bak-*", async r =>
        {
            Assert.True(r.ExitCode != 0, r.ToString());
            Assert.Contains($"{Sparse.Home}/.claude.json is over 33554432 bytes: refusing to read it; remove it and apply again", r.Stderr, StringComparison.Ordinal);
            Assert.Equal("68719476736 0", (await box.ScriptAsync($$"""echo "$(stat -c %s {{Sparse.Home}}/.claude.json) $(ls -a {{Sparse.Home}} | grep -c '^.claude.json.bak' || true)" """)).Trim());
        });
    }

    /// <summary>
    /// ~/.claude.json a symlink to another person's (private home, a playwright entry in it): the
    /// checks run as the thief, who can't read it, so the step never answers from the victim's
    /// file (root reading it would find the entry there and add none for the thief); the victim's
    /// file stays byte for byte, and nothing of it reaches the thief's output or home.
    /// </summary>
    [Fact]
    public async Task A_symlink_to_another_persons_claude_json_is_never_read_through()
    {
        await HostWorld.ReadyAsync(box);
        try
        {
            await box.MustAsync(Victim.Apply(tokenStdin: false, privateHome: true), timeout: Bounded);
            var victimFile = $"{Victim.Home}/.claude.json";
            var before = (await box.MustAsync($"stat -c '%a' {Victim.Home}; sha256sum < {victimFile}; jq -c .mcpServers.playwright {victimFile}")).Stdout;
            Assert.StartsWith("700\n", before, StringComparison.Ordinal);
            Assert.Contains("127.0.0.1:6104", before, StringComparison.Ordinal);

            var r = await ServicesUnderAttackAsync(Thief, $"rm -f .claude.json; ln -s {victimFile} .claude.json");
            Assert.DoesNotContain("already has a playwright MCP server", r.Stdout + r.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("6104", r.Stdout + r.Stderr, StringComparison.Ordinal);
            // Not answered from the victim's file: the step went on to the CLI for the thief (which adds
            // their entry, or fails on the link it can't follow), never to "an entry is there".
            Assert.True(r.ExitCode != 0 || r.Changes().Any(l => l.Contains("claude mcp add", StringComparison.Ordinal)), r.ToString());
            Assert.Equal(before, (await box.MustAsync($"stat -c '%a' {Victim.Home}; sha256sum < {victimFile}; jq -c .mcpServers.playwright {victimFile}")).Stdout);
            Assert.Equal("", (await box.ScriptAsync($"grep -rl '6104' {Thief.Home} 2>/dev/null || true")).Trim());
        }
        finally
        {
            await CleanUpAsync(Thief, "rm -f .claude.json");
            await box.RunAsync(Victim.Suspend());
        }
    }
    /// <summary>
    /// Attack on the account step's file test (file_equals, as the person): they keep their
    /// managed ~/.zshrc.d/vault.sh's lines and pad it behind them, with three NUL bytes, then to a
    /// 64 GiB sparse file. Each time the step ends within <see cref="Seconds"/> and puts the file
    /// back as it writes it. Before (the file read whole into bash, which drops NULs): the padded
    /// file counted as unchanged and was left, and the sparse one held the step until its timeout.
    /// </summary>
    [Fact]
    public async Task A_vault_sh_padded_behind_its_lines_is_rewritten_and_never_read_whole()
    {
        await HostWorld.ReadyAsync(box);
        var account = Padder.Apply(tokenStdin: false).Account;
        var file = $"{Padder.Home}/.zshrc.d/vault.sh";
        // Its size and its first 64 KiB's digest (read as the person, never the whole of a sparse file).
        var digest = $"runuser -u {Padder.Name} -- sh -c 'stat -c %s {file}; head -c 65536 {file} | sha256sum'";
        try
        {
            await box.MustAsync(account, timeout: Bounded);
            var written = await box.ScriptAsync(digest);
            foreach (var pad in new[] { $"printf '\\0\\0\\0' >> {file}", $"truncate -s 64G {file}" })
            {
                await box.MustAsync($"runuser -u {Padder.Name} -- sh -c {HostCommandsQuote(pad)}");
                Assert.NotEqual(written, await box.ScriptAsync(digest));
                var clock = Stopwatch.StartNew();
                SshResult r;
                try
                {
                    r = await box.RunAsync(account, timeout: Seconds + TimeSpan.FromSeconds(10));
                }
                catch (TimeoutException)
                {
                    Assert.Fail($"the account step was still running after {clock.Elapsed.TotalSeconds:F0} s ({pad})");
                    throw;
                }
                Assert.True(clock.Elapsed < Seconds, $"the account step took {clock.Elapsed.TotalSeconds:F1} s ({pad}):\n{r}");
                Assert.True(r.ExitCode == 0, r.ToString());
                Assert.Equal(written, await box.ScriptAsync(digest));
            }
        }
        finally
        {
            await box.RunAsync($"rm -f {file}");
            await box.RunAsync(Padder.Suspend());
        }
    }
}

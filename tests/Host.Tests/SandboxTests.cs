using System.Diagnostics;

namespace Host.Tests;

/// <summary>Smoke tests of the sandbox devvm itself: if these fail, no host test means anything.</summary>
[Collection(SandboxCollection.Name)]
public sealed class SandboxTests(SandboxFixture box)
{
    [Fact]
    public async Task SystemdIsPid1()
    {
        var r = await box.RunAsync("ps -p 1 -o comm=");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("systemd", r.Stdout.Trim());
    }

    [Fact]
    public async Task SshdAnswersAndPassesExitCodesAndStdin()
    {
        var r = await box.RunAsync("echo \"$(id -un)@$(hostname)\"; exit 7");
        Assert.Equal(7, r.ExitCode);
        Assert.Equal("root@ws-sandbox", r.Stdout.Trim());

        var echo = await box.RunAsync("cat", stdin: "secret\n");
        Assert.True(echo.ExitCode == 0, echo.ToString());
        Assert.Equal("secret\n", echo.Stdout);
    }

    [Fact]
    public async Task BootFinished()
    {
        var r = await box.RunAsync("systemctl is-system-running");
        Assert.Contains(r.Stdout.Trim(), new[] { "running", "degraded" });
    }

    [Fact]
    public async Task PinnedClaudeCliRuns()
    {
        var pinned = File.ReadLines(Path.Combine(box.RepoRoot, "host", "npm-packages.txt"))
            .Select(l => l.Trim())
            .Single(l => l.StartsWith("@anthropic-ai/claude-code@", StringComparison.Ordinal));
        var version = pinned[(pinned.LastIndexOf('@') + 1)..];

        var r = await box.RunAsync("claude --version");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.StartsWith(version + " ", r.Stdout.Trim() + " ", StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("git-crypt --version", "git-crypt")]
    [InlineData("systemd-analyze --version", "systemd")]
    [InlineData("playwright-mcp --help", "Usage")]
    public async Task ToolRuns(string command, string expected)
    {
        var r = await box.RunAsync(command);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains(expected, r.Stdout + r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KillDuringInterruptsTheSshClient()
    {
        var sw = Stopwatch.StartNew();
        await box.KillDuringAsync("sleep 60", TimeSpan.FromSeconds(1));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"took {sw.Elapsed}");

        await Assert.ThrowsAsync<InvalidOperationException>(
            () => box.KillDuringAsync("true", TimeSpan.FromSeconds(10)));
    }
}


namespace Host.Tests;

/// <summary>Smoke tests of the sandbox devvm itself: if these fail, no host test means anything.</summary>
[Collection(SandboxCollection3.Name)]
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
        Assert.Equal($"root@{box.Machine}", r.Stdout.Trim());

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

/// <summary>Named sandbox instances (issue 27 §3): boxes side by side, each its own.</summary>
[Collection(SandboxCollection3.Name)]
public sealed class SandboxNamesTests(SandboxFixture box)
{
    /// <summary>
    /// Two names boot at once from the one cached rootfs, each answers on its own port as its own
    /// machine, and `down` of one stops that one only: the other, and this collection's box, run on.
    /// </summary>
    [Fact]
    public async Task Two_named_boxes_run_at_once_each_on_its_own_port_and_down_of_one_leaves_the_other_running()
    {
        (string Name, int Port)[] boxes = [("t-names-a", SandboxFixture.PortFor(8)), ("t-names-b", SandboxFixture.PortFor(9))];
        try
        {
            var ups = await Task.WhenAll(boxes.Select(b => box.SandboxAsAsync(b.Name, b.Port, "up")));
            foreach (var up in ups) Assert.True(up.ExitCode == 0, up.ToString());
            foreach (var (name, port) in boxes)
            {
                var env = SandboxFixture.ParseEnv((await box.SandboxAsAsync(name, port, "env")).Stdout);
                FactAssert.Equal(env,
                    ("SANDBOX_SSH_PORT", BoxExtensions.Num(port)),
                    ("SANDBOX_NAME", name));
                var who = await box.SandboxAsAsync(name, port, "ssh", "hostname");
                Assert.True(who.ExitCode == 0, who.ToString());
                Assert.Equal($"ws-sandbox-{name}", who.Stdout.Trim());
            }

            var down = await box.SandboxAsAsync(boxes[0].Name, boxes[0].Port, "down");
            Assert.True(down.ExitCode == 0, down.ToString());
            var gone = await box.SandboxAsAsync(boxes[0].Name, boxes[0].Port, "status");
            Assert.True(gone.ExitCode == 3, gone.ToString());
            var other = await box.SandboxAsAsync(boxes[1].Name, boxes[1].Port, "ssh", "systemctl is-system-running");
            Assert.True(other.ExitCode is 0 or 1 && other.Stdout.Trim() is "running" or "degraded", other.ToString());
            await box.MustAsync("true"); // this collection's own box too
        }
        finally
        {
            foreach (var (name, port) in boxes) await box.SandboxAsAsync(name, port, "down");
        }
    }
}

/// <summary>The sandbox's own recovery: it replaces the box, so it runs last (<see cref="ReplacedBoxCollection"/>).</summary>
[Collection(ReplacedBoxCollection.Name)]
public sealed class SandboxUpTests(SandboxFixture box)
{
    /// <summary>
    /// CI runs right after a session whose processes were all killed, so `up` must recover
    /// by itself: a systemd-nspawn SIGKILLed before `down` leaves its container running
    /// (sshd still on the port, the overlay still mounted), and a box still running from an
    /// earlier run is dirty. Either way `up` gives a clean box on the same port and key.
    /// </summary>
    [Fact]
    public async Task Up_after_a_killed_run_gives_a_clean_box()
    {
        const string Probe = "ls /root/left-by-an-earlier-run 2>/dev/null || echo clean; ps -p 1 -o comm=";
        try
        {
            await box.MustAsync("touch /root/left-by-an-earlier-run");
            var pidFile = Path.Combine(box.InstanceDir, "nspawn.pid");
            using (var nspawn = Process.GetProcessById(int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture)))
            {
                nspawn.Kill(); // SIGKILL, as when the whole session is killed
                await nspawn.WaitForExitAsync();
            }

            var up = await box.SandboxAsync("up");
            Assert.True(up.ExitCode == 0, up.ToString());
            Assert.Equal("clean\nsystemd\n", (await box.MustAsync(Probe)).Stdout);

            // Still running from an earlier run that never got to `down`: replaced too.
            await box.MustAsync("touch /root/left-by-an-earlier-run");
            var again = await box.SandboxAsync("up");
            Assert.True(again.ExitCode == 0, again.ToString());
            Assert.Equal("clean\nsystemd\n", (await box.MustAsync(Probe)).Stdout);
        }
        finally
        {
            await HostWorld.ResetAsync(box); // a fresh box: the next test installs host/ again
        }
    }
}

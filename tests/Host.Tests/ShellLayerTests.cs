
namespace Host.Tests;

/// <summary>
/// The shell and session layer every person inherits from the base step: /etc/profile.d,
/// /etc/zsh/zshrc.d, and /etc/skel's .zshrc, .tmux.conf and launcher; and launcher ownership:
/// with another deployer owning start-claude.sh, the base leaves it alone.
/// </summary>
[Collection(SandboxCollection2.Name)]
public sealed class ShellLayerTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(120))
{
    private static readonly TestUser Shl = new("shl", 2235, 4435, 4535);

    private string Repo(string path) => File.ReadAllText(Path.Combine(box.RepoRoot, "host", "base", path));

    [Fact]
    public async Task A_new_person_gets_the_machine_shell_layer_and_tmux_windows_that_start_claude_in_their_clone()
    {
        await box.OnboardAsync(Shl, Bounded, token: true);
        Assert.Equal(Repo("profile.d/00-workstation.sh"), (await box.MustAsync("cat /etc/profile.d/00-workstation.sh")).Stdout);
        Assert.Equal(Repo("zshrc.d/00-workstation.zsh"), (await box.MustAsync("cat /etc/zsh/zshrc.d/00-workstation.zsh")).Stdout);
        Assert.Equal(Repo("skel/tmux.conf"), (await box.MustAsync("cat /home/shl/.tmux.conf")).Stdout);

        var facts = OnboardingTests.Facts(await box.ScriptAsync("""
            set -euo pipefail
            # A login shell as the person, interactive: profile.d, then /etc/zsh/zshrc.d via ~/.zshrc.
            echo "autoupdater=$(runuser -l shl -c 'zsh -ic "echo \$DISABLE_AUTOUPDATER" 2>/dev/null')"
            echo "histsize=$(runuser -l shl -c 'zsh -ic "echo \$HISTSIZE" 2>/dev/null')"
            echo "path=$(runuser -l shl -c 'zsh -ic "command -v claude" 2>/dev/null')"
            # tmux as the person: every new window runs the launcher, which starts claude in ~/code.
            runuser -u shl -- tmux -L ws-test -f /home/shl/.tmux.conf start-server \; show-options -g default-command >/tmp/shl-tmux 2>&1 || true
            echo "tmux=$(cat /tmp/shl-tmux)"
            runuser -u shl -- tmux -L ws-test kill-server 2>/dev/null || true
            echo "launcher=$(runuser -l shl -c '~/start-claude.sh --version' 2>&1 | tr '\n' ' ')"
            echo "launcher_cd=$(grep -c '^cd "$HOME/code"$' /home/shl/start-claude.sh)"
            rm -f /tmp/shl-tmux
            """));
        FactAssert.Equal(facts,
            ("autoupdater", "1"),
            ("histsize", "50000"),
            ("path", "/usr/local/bin/claude"),
            ("tmux", "default-command \"exec \\\"\\$HOME/start-claude.sh\\\"\""));
        Assert.Contains("(Claude Code)", facts["launcher"], StringComparison.Ordinal);
        Assert.Equal("1", facts["launcher_cd"]);
    }

    [Fact]
    public async Task With_another_deployer_owning_the_launcher_the_base_leaves_it_alone()
    {
        await HostWorld.ReadyAsync(box);
        const string theirs = "#!/bin/sh\n# terminal-lobby's launcher\ncd \"$HOME/code\" && exec claude\n";
        var original = (await box.MustAsync("cat /etc/skel/start-claude.sh")).Stdout;
        try
        {
            await box.MustAsync("cat > /etc/skel/start-claude.sh", stdin: theirs);
            // Owning it, the base refuses to overwrite a launcher it did not write (exit 3, nothing touched).
            var owning = await box.RunAsync(HostWorld.BaseCommand(box.RepoRoot), timeout: Bounded);
            Assert.True(owning.ExitCode == 3, owning.ToString());
            Assert.Contains("/etc/skel/start-claude.sh", owning.Stderr, StringComparison.Ordinal);

            var other = await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot, ownLauncher: false), timeout: Bounded);
            Assert.DoesNotContain(other.Changes(), l => l.Contains("start-claude.sh", StringComparison.Ordinal));
            Assert.Equal(theirs, (await box.MustAsync("cat /etc/skel/start-claude.sh")).Stdout);
        }
        finally
        {
            await box.MustAsync("cat > /etc/skel/start-claude.sh", stdin: original);
            await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot), timeout: Bounded);
        }
    }

    /// <summary>
    /// claudeCodePolicy if-missing: on a live machine the base keeps the Claude Code that is there,
    /// at whatever version, instead of moving everyone's sessions to the pin.
    /// </summary>
    [Fact]
    public async Task With_claude_code_if_missing_an_installed_claude_code_keeps_its_version()
    {
        await HostWorld.ReadyAsync(box);
        const string package = "/usr/local/lib/node_modules/@anthropic-ai/claude-code/package.json";
        var pin = File.ReadAllLines(Path.Combine(box.RepoRoot, "host", "npm-packages.txt"))
            .Single(l => l.StartsWith("@anthropic-ai/claude-code@", StringComparison.Ordinal)).Split('@')[^1];
        await box.ScriptAsync($$"""
            set -euo pipefail
            cp {{package}} /root/claude-package.json.orig
            jq '.version = "2.0.0-live"' /root/claude-package.json.orig > {{package}}
            """);
        try
        {
            var r = await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot, claudeCodeIfMissing: true), timeout: Bounded);
            Assert.Contains($"workstation: @anthropic-ai/claude-code 2.0.0-live kept (--claude-code if-missing; the pin is {pin})", r.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain(r.Changes(), l => l.Contains("npm global", StringComparison.Ordinal));
            Assert.Equal("2.0.0-live\n", (await box.MustAsync($"jq -r .version {package}")).Stdout);
        }
        finally
        {
            await box.MustAsync($"mv -f /root/claude-package.json.orig {package}");
        }
    }
}

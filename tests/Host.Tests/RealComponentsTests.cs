namespace Host.Tests;

/// <summary>The real components, not stand-ins: git-crypt, the claude CLI, the Playwright MCP server.</summary>
[Collection(SandboxCollection3.Name)]
public sealed class RealComponentsTests(SandboxFixture box)
{
    private static readonly TestUser Rex = new("rex", 2112, 4112, 4212);

    private async Task OnboardAsync()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Rex.Apply(), stdin: Rex.TokenStdin); // idempotent: a no-op when already onboarded
    }

    [Fact]
    public async Task Clone_keeps_git_crypt_secrets_as_ciphertext_and_code_plaintext_and_writable()
    {
        await OnboardAsync();
        var facts = OnboardingTests.Facts(await box.ScriptAsync("""
            set -euo pipefail
            as() { runuser -u rex -- env HOME=/home/rex "$@"; }
            cd /home/rex/code
            echo "magic=$(head -c 10 secret.txt | od -An -c | tr -s ' ')"
            echo "plain=$(grep -c 'top secret' secret.txt || true)"
            echo "readme=$(head -n1 README.md)"
            echo "smudge=$(as git config filter.git-crypt.smudge),$(as git config filter.git-crypt.clean),$(as git config filter.git-crypt.required)"
            echo "push=$(as git config push.default)"
            echo "branch=$(as git rev-parse --abbrev-ref HEAD)"
            echo "origin=$(as git config remote.forgejo.url) $(as git remote | paste -sd,) $(as git config remote.pushDefault)"
            echo "clean=$(as git status --porcelain | wc -l)"
            as sh -ec 'echo "rex was here" >> README.md; git -c user.name=rex -c user.email=rex@example.test commit -qam "rex edits"'
            echo "commit=$(as git log -1 --format=%an:%s)"
            echo "secretunchanged=$(as git diff --quiet HEAD~1 HEAD -- secret.txt && echo yes)"
            as git reset -q --hard HEAD~1
            """));
        FactAssert.Equal(facts,
            ("magic", @" \0 G I T C R Y P T \0"),
            ("plain", "0"),
            ("readme", "# Fixture"),
            ("smudge", "cat,cat,false"),
            ("push", "current"),
            // The seed's push model (issue 24 §4): the person's own branch, the one remote `forgejo`.
            ("branch", "rex"),
            ("origin", $"{HostWorld.FixtureRepoUrl} forgejo forgejo"),
            ("clean", "0"), // the ciphertext does not show as modified
            ("commit", "rex:rex edits"),
            ("secretunchanged", "yes"));
    }

    [Fact]
    public async Task The_real_claude_cli_has_the_playwright_entry_with_the_users_port()
    {
        await OnboardAsync();
        var r = await box.MustAsync("cd /home/rex && runuser -u rex -- env HOME=/home/rex CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 claude mcp get playwright");
        Assert.Contains("URL: http://127.0.0.1:4212/mcp", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("Type: http", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("User config", r.Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// The running server: rex's, on loopback, from the pinned global install. (That it answers MCP,
    /// initialize included, is BrowsingTests': whole sessions over a person's port.)
    /// </summary>
    [Fact]
    public async Task Running_playwright_mcp_runs_as_the_user_on_loopback_from_the_pinned_install()
    {
        await OnboardAsync();
        // Bound to loopback as the user, from the pinned global install.
        var who = await box.MustAsync("pid=$(systemctl show -p MainPID --value playwright-mcp@rex.service); ps -o user= -p \"$pid\"; tr '\\0' ' ' < /proc/$pid/cmdline");
        Assert.StartsWith("rex\n", who.Stdout, StringComparison.Ordinal);
        Assert.Contains("/usr/local/bin/playwright-mcp --headless --isolated --browser chromium --executable-path /usr/bin/chromium --host 127.0.0.1 --port 4212 ", who.Stdout, StringComparison.Ordinal);
        // Output files land in the home, where rex's Claude can read them (not the unit's private /tmp).
        Assert.Contains(" --output-dir /home/rex/.cache/playwright-mcp ", who.Stdout + " ", StringComparison.Ordinal);
    }

    [Fact]
    public async Task Snapshot_refresh_runs_as_the_user_and_without_a_url_does_nothing()
    {
        await OnboardAsync();
        // (playwright-mcp-run lays an empty state there when it starts: the refresh must leave it as it is.)
        var r = await box.MustAsync("""
            before=$(sha256sum /home/rex/.local/state/workstation/playwright-snapshot 2>/dev/null || echo none)
            systemctl start playwright-snapshot-refresh@rex.service
            systemctl show -p Result --value playwright-snapshot-refresh@rex.service
            journalctl -u playwright-snapshot-refresh@rex.service --no-pager -o cat | tail -n 5
            [ "$before" = "$(sha256sum /home/rex/.local/state/workstation/playwright-snapshot 2>/dev/null || echo none)" ] && echo no-state-change
            systemctl list-timers --all --no-legend 'playwright-snapshot-refresh@rex.timer' | wc -l
            """);
        Assert.StartsWith("success\n", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("no SNAPSHOT_URL", r.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(Rex.Token, r.Stdout, StringComparison.Ordinal);
        Assert.Contains("no-state-change", r.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("1\n", r.Stdout, StringComparison.Ordinal);
    }
}

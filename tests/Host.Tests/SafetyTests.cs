namespace Host.Tests;

/// <summary>The safety rules: never clobber, never touch unmanaged accounts, never remove groups, reject hostile arguments.</summary>
[Collection(SandboxCollection2.Name)]
public sealed class SafetyTests(SandboxFixture box)
{
    private static readonly TestUser Cid = new("cid", null, 4103, 4203);
    private static readonly TestUser Dee = new("dee", null, 4104, 4204);
    private static readonly TestUser Eve = new("eve", null, 4105, 4205);
    private static readonly TestUser Fay = new("fay", 2106, 4106, 4206, "admin", ["code-shared", "docker", "sudo"]);

    /// <summary>
    /// An existing account with its own ~/.claude.json, ~/.kube/config and a ~/code symlink,
    /// adopted: all three stay byte-identical, except the one playwright entry the real
    /// claude CLI adds. The pre-existing ~/.claude.json is one this claude version has
    /// already used (a real user's is); the CLI's start-up migration of an older file is
    /// the CLI's business, and the backup taken before it runs keeps the original.
    /// </summary>
    [Fact]
    public async Task Existing_claude_json_kubeconfig_and_code_symlink_are_not_clobbered()
    {
        await HostWorld.ReadyAsync(box);
        var before = OnboardingTests.Facts(await box.ScriptAsync("""
            set -euo pipefail
            useradd -m -u 7003 -s /bin/bash cid
            echo 'cid:an-old-password' | chpasswd
            chmod 751 /home/cid
            mkdir -p /srv/shared-code
            runuser -u cid -- sh -ec 'cd; mkdir -p .kube; printf "apiVersion: v1\nkind: Config\n# cid hand-made\n" > .kube/config; ln -s /srv/shared-code code'
            runuser -u cid -- env HOME=/home/cid CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 sh -ec 'cd; claude mcp get none >/dev/null 2>&1 || true
              jq ".numStartups = 42 | .mcpServers = {ha: {type: \"http\", url: \"http://ha.local/mcp\"}} | .projects = {\"/home/cid/code\": {allowedTools: [\"Bash\"]}}" .claude.json > .c.tmp
              mv .c.tmp .claude.json'
            cd /home/cid
            echo "kube=$(sha256sum < .kube/config)"
            echo "claude=$(sha256sum < .claude.json)"
            echo "claudejson=$(jq -S -c . .claude.json)"
            echo "code=$(stat -c '%N %i %Y' code)"
            echo "status=$(passwd -S cid | cut -d' ' -f2)"
            echo "home=$(stat -c '%a' /home/cid)"
            echo "shell=$(getent passwd cid | cut -d: -f7)"
            """));
        Assert.Equal("P", before["status"]);

        var r = await box.MustAsync(Cid.Apply(adopt: true), stdin: Cid.TokenStdin);
        Assert.Contains(r.Changes(), l => l.Contains("claude mcp add", StringComparison.Ordinal));

        var after = OnboardingTests.Facts(await box.ScriptAsync("""
            set -euo pipefail
            cd /home/cid
            echo "kube=$(sha256sum < .kube/config)"
            echo "kubebackups=$(ls .kube | grep -c '^config.bak-')"
            echo "kubebackup=$(sha256sum < "$(ls -d .kube/config.bak-* | head -1)")"
            echo "claudebackup=$(sha256sum < "$(ls -d .claude.json.bak-* | head -1)")"
            echo "claudebackups=$(ls -a | grep -c '^.claude.json.bak-')"
            echo "claudeminus=$(jq -S -c 'del(.mcpServers.playwright)' .claude.json)"
            echo "playwright=$(jq -c .mcpServers.playwright .claude.json)"
            echo "code=$(stat -c '%N %i %Y' code)"
            echo "status=$(passwd -S cid | cut -d' ' -f2)"
            echo "home=$(stat -c '%a' /home/cid)"
            echo "shell=$(getent passwd cid | cut -d: -f7)"
            echo "groups=$(id -nG cid)"
            echo "mcpget=$(runuser -u cid -- env HOME=/home/cid CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 sh -c 'cd; claude mcp get playwright' | grep -F 'URL:' | tr -s ' ')"
            """));

        FactAssert.Equal(after,
            ("kube", before["kube"]),
            ("kubebackups", "1"),
            ("kubebackup", before["kube"]),
            ("code", before["code"]),
            ("claudebackups", "1"),
            ("claudebackup", before["claude"]),
            // Exactly one entry added, every other key and value preserved (the CLI may reorder keys).
            ("claudeminus", before["claudejson"]),
            ("playwright", """{"type":"http","url":"http://127.0.0.1:4203/mcp"}"""),
            ("mcpget", " URL: http://127.0.0.1:4203/mcp"),
            // An existing account is never locked, chmod-ed or re-shelled.
            ("status", "P"),
            ("home", "751"),
            ("shell", "/bin/bash"));
        Assert.Contains("workstation", after["groups"].Split(' '));

        var again = await box.MustAsync(Cid.Apply(adopt: true), stdin: Cid.TokenStdin);
        Assert.Empty(again.Changes());
    }

    /// <summary>
    /// A playwright server in the home's .mcp.json (project scope) is one jq does not answer
    /// for: the CLI's `mcp get` is asked, finds it, and no user-scope entry is added beside it.
    /// </summary>
    [Fact]
    public async Task A_playwright_server_in_the_homes_mcp_json_is_asked_of_the_cli_and_none_is_added_beside_it()
    {
        await HostWorld.ReadyAsync(box);
        var pmj = new TestUser("pmj", 2621, 4721, 4821);
        var steps = pmj.Apply(tokenStdin: false);
        await box.MustAsync(steps.Account);
        try
        {
            await box.ScriptAsync("""
                runuser -u pmj -- sh -ec 'cd; printf "%s\n" "{\"mcpServers\": {\"playwright\": {\"type\": \"http\", \"url\": \"http://127.0.0.1:9998/mcp\"}}}" > .mcp.json'
                """);
            await box.MustAsync(steps.Code);
            var services = await box.MustAsync(steps.Services, timeout: TimeSpan.FromSeconds(120));
            Assert.Contains("pmj already has a playwright MCP server (claude mcp get); left alone", services.Stdout + services.Stderr, StringComparison.Ordinal);
            Assert.Equal("null", (await box.ScriptAsync("jq -c '.mcpServers.playwright' /home/pmj/.claude.json 2>/dev/null || echo null")).Trim());
        }
        finally
        {
            await box.MustAsync(pmj.Suspend());
        }
    }

    /// <summary>A ~/.claude.json that already has a playwright entry is left byte-identical; the CLI never even runs.</summary>
    [Fact]
    public async Task Existing_playwright_entry_is_left_alone_and_the_cli_never_runs()
    {
        await HostWorld.ReadyAsync(box);
        var before = await box.ScriptAsync("""
            set -euo pipefail
            useradd -m -u 7004 -s /bin/bash dee
            runuser -u dee -- sh -ec 'cd; printf "{\n  \"mcpServers\": {\"playwright\": {\"type\": \"http\", \"url\": \"http://127.0.0.1:9999/mcp\"}}\n}\n" > .claude.json'
            stat -c '%i %Y %s' /home/dee/.claude.json; sha256sum < /home/dee/.claude.json
            """);
        await box.MustAsync(Dee.Apply(adopt: true), stdin: Dee.TokenStdin);
        var after = await box.ScriptAsync("""
            stat -c '%i %Y %s' /home/dee/.claude.json; sha256sum < /home/dee/.claude.json
            ls -a /home/dee | grep -c -e '^.claude.json.bak' -e '^.claude$' || true
            """);
        Assert.Equal(before + "0\n", after);
    }

    [Fact]
    public async Task Unmanaged_account_is_refused_with_exit_3_and_nothing_changes()
    {
        await HostWorld.ReadyAsync(box);
        await box.ScriptAsync("getent passwd eve >/dev/null || useradd -m -u 7005 -s /bin/bash eve");
        await using var quiet = await box.QuietAsync();
        var before = await box.ScriptAsync(HostWorld.Snapshot);

        var apply = await box.RunAsync(Eve.Apply(), stdin: Eve.TokenStdin);
        Assert.True(apply.ExitCode == 3, apply.ToString());
        Assert.Contains("--adopt", apply.Stderr, StringComparison.Ordinal);
        var suspend = await box.RunAsync(Eve.Suspend());
        Assert.True(suspend.ExitCode == 3, suspend.ToString());

        var after = await box.ScriptAsync(HostWorld.Snapshot);
        await box.AssertSameAsync(before, after, "a refused apply changed the box");
    }

    [Fact]
    public async Task System_account_and_uid_mismatch_are_refused_and_nothing_changes()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Fay.Apply(), stdin: Fay.TokenStdin);
        await box.ScriptAsync("getent passwd svcacct >/dev/null || useradd -r -s /usr/sbin/nologin svcacct");
        await using var quiet = await box.QuietAsync();
        var before = await box.ScriptAsync(HostWorld.Snapshot);

        var system = await box.RunAsync(new TestUser("svcacct", null, 4150, 4250).Apply(tokenStdin: false, adopt: true));
        Assert.True(system.ExitCode == 2, system.ToString());
        Assert.Contains("system account", system.Stderr, StringComparison.Ordinal);

        var uid = await box.RunAsync(Fay.Apply(tokenStdin: false, uid: 2199));
        Assert.True(uid.ExitCode == 3, uid.ToString());
        Assert.Contains("2199", uid.Stderr, StringComparison.Ordinal);

        var after = await box.ScriptAsync(HostWorld.Snapshot);
        await box.AssertSameAsync(before, after, "a refused apply changed the box");
    }

    /// <summary>
    /// A /home/USER left behind without an account (another owner's files in it) is refused with
    /// exit 3: useradd would take the directory over and root would chmod it. Nothing changes:
    /// not a byte of the tree, its owners or its modes, and no account appears.
    /// </summary>
    [Fact]
    public async Task A_home_without_an_account_is_refused_with_exit_3_and_left_exactly_as_it_was()
    {
        await HostWorld.ReadyAsync(box);
        const string Tree = """
            find /home/ola -printf '%P|%y|%m|%u|%g|%s|%T@\n' | sort | sha256sum
            find /home/ola -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum
            getent passwd ola || echo "no account"
            """;
        await box.ScriptAsync("""
            rm -rf /home/ola
            mkdir -m 0755 /home/ola /home/ola/projects
            echo "someone else's notes" > /home/ola/projects/notes.txt
            chown -R 7777:7777 /home/ola
            """);
        var before = await box.ScriptAsync(Tree);
        var ola = new TestUser("ola", 2133, 4133, 4233);
        var r = await box.RunAsync(ola.Apply(), stdin: ola.TokenStdin);
        Assert.True(r.ExitCode == 3, r.ToString());
        Assert.Contains("/home/ola already exists but there is no account ola", r.Stderr, StringComparison.Ordinal);
        Assert.Equal(before, await box.ScriptAsync(Tree));
        Assert.Contains("no account", before, StringComparison.Ordinal);
        await box.MustAsync("rm -rf /home/ola");
    }

    [Fact]
    public async Task Groups_are_only_ever_added()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Fay.Apply(), stdin: Fay.TokenStdin);
        await box.ScriptAsync("getent group by-hand >/dev/null || groupadd by-hand; gpasswd -a fay by-hand >/dev/null");

        // The roster now says power-user: no tier groups at all. The tier's own files change
        // (the applied-tier record, the admin's t3 drop-in); no group does.
        var r = await box.MustAsync(Fay.Account(tier: "power-user", groups: []));
        Assert.DoesNotContain(r.Changes(), l => l.Contains("group", StringComparison.Ordinal));
        Assert.Contains("workstation: changed: /etc/workstation/user-fay.env", r.Changes());
        var groups = (await box.ScriptAsync("id -nG fay")).Split(' ', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["by-hand", "code-shared", "docker", "fay", "sudo", "workstation"], groups.Order(StringComparer.Ordinal));

        // A new group is created and added; the others stay.
        var more = await box.MustAsync(Fay.Account(tier: "power-user", groups: ["ws-extra"]));
        Assert.Contains(more.Changes(), l => l.Contains("group ws-extra", StringComparison.Ordinal));
        groups = (await box.ScriptAsync("id -nG fay")).Split(' ', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["by-hand", "code-shared", "docker", "fay", "sudo", "workstation", "ws-extra"], groups.Order(StringComparer.Ordinal));
    }
}

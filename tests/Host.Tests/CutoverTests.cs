
namespace Host.Tests;

/// <summary>
/// The Phase 5 cutover, on the booted box: a person who works in the admin's tree (~/code a link
/// into it, code-shared, a launcher that cd's there, ~/.claude links into the admin's home) moves
/// to their own locked clone only when idle, and the rollback puts every recorded item back.
/// </summary>
[Collection(SandboxCollection3.Name)]
public sealed class CutoverTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(90))
{
    private static readonly TestUser Cut = new("cut1", 2351, 4351, 4451);

    /// <summary>The pre-cutover state, as the seed found it for emo; built by the test itself.</summary>
    private const string Handmade = """
        set -euo pipefail
        admin_home=$(getent passwd wiz | cut -d: -f6 || true); admin_home=${admin_home:-/home/wiz}
        install -d -m 0755 "$admin_home/code" "$admin_home/.claude/rules" "$admin_home/.claude/skills/file-issue"
        echo "the admin's tree" > "$admin_home/code/ADMIN.md"
        groupadd -f code-shared
        gpasswd -a cut1 code-shared >/dev/null
        rm -rf /home/cut1/code
        runuser -u cut1 -- sh -ec "
          ln -s $admin_home/code ~/code
          printf '#!/bin/sh\ncd $admin_home/code && exec claude \"\$@\"\n' > ~/start-claude.sh; chmod 755 ~/start-claude.sh
          mkdir -p ~/.claude/skills
          rm -rf ~/.claude/rules ~/.claude/skills/file-issue
          ln -s $admin_home/.claude/rules ~/.claude/rules
          ln -s $admin_home/.claude/skills/file-issue ~/.claude/skills/file-issue"
        """;

    /// <summary>Every item the cutover records, as one comparable text.</summary>
    private const string Facts = """
        cd /home/cut1
        echo "code=$(readlink code || echo not-a-link) kind=$(stat -c %F code)"
        echo "groups=$(id -nG cut1 | tr ' ' '\n' | sort | paste -sd,)"
        echo "launcher=$(sha256sum < start-claude.sh | cut -c1-16) $(stat -c %a start-claude.sh)"
        echo "rules=$(readlink .claude/rules || echo none)"
        echo "file-issue=$(readlink .claude/skills/file-issue || echo none)"
        """;

    private static string Line(string facts, string key) => facts.Split('\n').Single(l => l.StartsWith(key + "=", StringComparison.Ordinal));

    [Fact]
    public async Task The_cutover_waits_for_idle_moves_a_person_to_their_own_locked_clone_and_the_rollback_restores_every_recorded_item()
    {
        await box.OnboardAsync(Cut, Bounded);
        await box.ScriptAsync(Handmade);
        var before = await box.ScriptAsync(Facts);
        Assert.Contains("code=/home/wiz/code", before, StringComparison.Ordinal);
        Assert.Contains("code-shared", Line(before, "groups"), StringComparison.Ordinal);
        try
        {
            // A terminal typed in just now: refused, nothing changed.
            await box.ScriptAsync(HostWorld.OpenTypedTerminal("cut1", "ws-cut1-term"));
            var busy = await box.RunAsync(HostCommands.Manual.Cutover("cut1"), timeout: Bounded);
            Assert.Equal(3, busy.ExitCode);
            Assert.Contains("the cutover waits for 1200s of idle", busy.Stderr, StringComparison.Ordinal);
            Assert.Equal(before, await box.ScriptAsync(Facts));
            await box.ScriptAsync("systemctl stop ws-cut1-term");

            // Idle (no terminal): the cutover.
            var cut = await box.MustAsync(HostCommands.Manual.Cutover("cut1"), timeout: Bounded);
            Assert.Contains(cut.Changes(), l => l.Contains("/home/cut1/code: cut1's own clone (was a link to /home/wiz/code)", StringComparison.Ordinal));
            var after = await box.ScriptAsync(Facts + "\n" + """
                echo "launcher-cd=$(grep -o 'cd [^&]*' start-claude.sh)"
                echo "clone=$(runuser -u cut1 -- git -C /home/cut1/code config --get filter.git-crypt.smudge) $(test -f /home/cut1/code/README.md && echo has-readme)"
                echo "admin-readable=$(runuser -u cut1 -- cat /home/wiz/code/ADMIN.md 2>/dev/null || echo no)"
                """);
            Assert.Equal("code=not-a-link kind=directory", Line(after, "code"));
            Assert.DoesNotContain("code-shared", Line(after, "groups"), StringComparison.Ordinal);
            Assert.Equal("launcher-cd=cd \"$HOME/code\" ", Line(after, "launcher-cd"));
            // Gone, or (when the box has a config base) the shared base's link instead: never into the admin's home.
            Assert.DoesNotContain("/home/wiz", Line(after, "rules"), StringComparison.Ordinal);
            Assert.Equal("file-issue=none", Line(after, "file-issue"));
            Assert.Equal("clone=cat has-readme", Line(after, "clone"));
            // Done twice: nothing more to do.
            Assert.Empty((await box.MustAsync(HostCommands.Manual.Cutover("cut1"), timeout: Bounded)).Changes());

            // Something of theirs in the new clone, then the rollback: every recorded item as it was, their work kept aside.
            await box.ScriptAsync("runuser -u cut1 -- sh -c 'echo mine > /home/cut1/code/NOTES.md'");
            await box.MustAsync(HostCommands.Manual.CutoverRollback("cut1"), timeout: Bounded);
            Assert.Equal(before, await box.ScriptAsync(Facts));
            Assert.Equal("mine", (await box.ScriptAsync("cat /home/cut1/code.cutover-*/NOTES.md")).Trim());
            Assert.Empty((await box.MustAsync(HostCommands.Manual.CutoverRollback("cut1"), timeout: Bounded)).Changes());
        }
        finally
        {
            await box.RunAsync("systemctl stop ws-cut1-term 2>/dev/null; systemctl reset-failed ws-cut1-term 2>/dev/null; rm -rf /var/lib/workstation/cutover/cut1; true");
            await box.MustAsync(Cut.Suspend());
        }
    }

    /// <summary>
    /// Onboards <paramref name="u"/>, runs PLANT (a root script that shapes their home as the attack
    /// needs), then their cutover, and hands its result to CHECK. Whatever happens, their cutover
    /// record goes, UNDO runs, and they are suspended.
    /// </summary>
    private async Task PlantedCutoverAsync(TestUser u, string plant, Func<SshResult, Task> check, string undo = "")
    {
        await box.OnboardAsync(u, Bounded);
        try
        {
            await box.ScriptAsync(plant);
            await check(await box.RunAsync(HostCommands.Manual.Cutover(u.Name), timeout: Bounded));
        }
        finally
        {
            await box.RunAsync($"rm -rf /var/lib/workstation/cutover/{u.Name}; {undo}true");
            await box.MustAsync(u.Suspend());
        }
    }

    /// <summary>Attack: the person plants their launcher as a link to a root-only file; root must not copy it anywhere.</summary>
    [Fact]
    public async Task A_launcher_linked_to_a_root_only_file_is_refused_and_never_read_as_root()
    {
        await PlantedCutoverAsync(new TestUser("cut2", 2352, 4352, 4452), """
            set -euo pipefail
            install -d -m 0755 /home/wiz/code
            rm -rf /home/cut2/code
            runuser -u cut2 -- sh -ec 'ln -s /home/wiz/code ~/code; ln -sfn /etc/shadow ~/start-claude.sh'
            """, async refused =>
        {
            Assert.Equal(3, refused.ExitCode);
            Assert.Contains("/home/cut2/start-claude.sh is a link", refused.Stderr, StringComparison.Ordinal);
            Assert.Equal("code=/home/wiz/code no-record", (await box.ScriptAsync(
                "echo \"code=$(readlink /home/cut2/code) $(test -e /var/lib/workstation/cutover/cut2 && echo record || echo no-record)\"")).Trim());
            Assert.Equal("", (await box.ScriptAsync("grep -rl '^root:' /var/lib/workstation/cutover 2>/dev/null || true")).Trim());
        });
    }

    /// <summary>
    /// Attack (issue 25 §6): the cutover records ~/code's link target, a value the person
    /// chooses. A target holding a newline and "GROUPS=code-shared," would add a key to the
    /// record, and the rollback would put the person in code-shared, a group they never had.
    /// The cutover refuses such a target before it records or changes anything.
    /// </summary>
    [Fact]
    public async Task A_link_target_with_a_newline_cannot_add_a_key_to_the_cutover_record()
    {
        await PlantedCutoverAsync(new TestUser("cut9", 2504, 4504, 4604), """
            set -euo pipefail
            groupadd -f code-shared
            rm -rf /home/cut9/code
            runuser -u cut9 -- sh -ec 'ln -s "$(printf "/home/wiz/code\nGROUPS=code-shared,")" ~/code'
            """, async cutover =>
        {
            await box.RunAsync(HostCommands.Manual.CutoverRollback("cut9"), timeout: Bounded);
            Assert.DoesNotContain("code-shared", (await box.ScriptAsync("id -nG cut9")).Split(' ', '\n'));
            Assert.Equal(3, cutover.ExitCode);
            Assert.Contains("a target with a control character can't be recorded", cutover.Stderr, StringComparison.Ordinal);
            Assert.Contains("$'/home/wiz/code\\nGROUPS=code-shared,'", cutover.Stderr, StringComparison.Ordinal);
            Assert.Equal("no-record", (await box.ScriptAsync(
                "test -e /var/lib/workstation/cutover/cut9 && echo record || echo no-record")).Trim());
        }, undo: "gpasswd -d cut9 code-shared 2>/dev/null; ");
    }

    [Fact]
    public async Task The_admin_is_never_cut_over()
    {
        await HostWorld.ReadyAsync(box);
        var admin = await box.RunAsync(HostCommands.Manual.Cutover(HostWorld.Admin), timeout: Bounded);
        Assert.Equal(3, admin.ExitCode);
        Assert.Contains("is the admin", admin.Stderr, StringComparison.Ordinal);
    }
}

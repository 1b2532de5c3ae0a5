
namespace Host.Tests;

/// <summary>
/// A devvm rebuilt from git: a fresh box with nothing of Workstation on it (Debian and the
/// packages of host/packages.txt, which the box can't fetch itself: it has no network), then
/// exactly the program's commands in order, install → base → site → users → maps. Every person
/// then has the toolset, the managed Claude settings, the launcher, rootless podman in their own
/// range and a Playwright that browses. The pinned downloads can't be fetched here: the test
/// builds a stand-in for each line of host/tools.txt (same name, version and file name, its
/// own sha256) into a mirror folder, installs host/ with that manifest, and runs the base step
/// with the pinned tools on, from the mirror (the stack's toolsMirror).
/// </summary>
[Collection(ReplacedBoxCollection.Name)]
public sealed class RebuiltTests(SandboxFixture box) : BoxTests(TimeSpan.FromMinutes(5))
{
    private const string Mirror = "/srv/tools-mirror";
    private static readonly string[] People = ["wiz", "alice", "bob"];
    private static readonly string[] Toolset = ["git", "zsh", "tmux", "rg", "jq", "python3", "node", "podman", "chromium", "claude"];

    /// <summary>
    /// Reads manifest lines (NAME VERSION SHA256 URL [MEMBER]) on fd 3; for each, builds a program
    /// printing "NAME VERSION stand-in" as the URL's file (plain, or a .zip / .tar.gz holding it
    /// as MEMBER) in the mirror, and prints the line with the stand-in's own sha256.
    /// </summary>
    private const string StandIns = """
        set -euo pipefail
        rm -rf /srv/tools-mirror
        while read -r name version _sha url member <&3; do
          file=${url##*/}; out=/srv/tools-mirror/$name/$version/$file; d=$(mktemp -d)
          mkdir -p "${out%/*}" "$d/z"
          printf '#!/bin/sh\necho "%s %s stand-in"\n' "$name" "$version" >"$d/prog"
          chmod 755 "$d/prog"
          case "$file" in
            *.zip | *.tar.gz | *.tgz)
              mkdir -p "$d/z/$(dirname "$member")"; cp "$d/prog" "$d/z/$member"
              case "$file" in
                *.zip) (cd "$d/z" && python3 -m zipfile -c "$out" "${member%%/*}") ;;
                *) tar -C "$d/z" -czf "$out" "${member%%/*}" ;;
              esac ;;
            *) cp "$d/prog" "$out" ;;
          esac
          echo "$name $version $(sha256sum "$out" | cut -d' ' -f1) $url${member:+ $member}"
          rm -rf "$d"
        done
        """;

    [Fact]
    public async Task A_devvm_rebuilt_from_git_on_a_bare_box_gives_every_person_the_whole_workstation()
    {
        var tree = Directory.CreateTempSubdirectory("ws-rebuilt-");
        try
        {
            var fresh = await box.SandboxAsync("up");
            Assert.True(fresh.ExitCode == 0, fresh.ToString());
            Assert.Equal("", (await box.ScriptAsync("""
                for p in /usr/local/lib/workstation /etc/workstation /etc/claude-code/managed-settings.json /etc/skel/start-claude.sh \
                  /etc/profile.d/00-workstation.sh /usr/local/bin/kubectl /etc/systemd/system/t3-serve@.service; do
                  if [ -e "$p" ]; then echo "present: $p"; fi
                done
                if getent group workstation >/dev/null; then echo "present: the workstation group"; fi
                """)).Trim());
            // The world outside the devvm: the repository everyone clones.
            await box.ScriptAsync(HostWorld.MakeFixtureRepo);

            // host/ as in git, but its tools.txt pins stand-ins of the same tools.
            var source = HostWorld.HostTreeParent(box.RepoRoot);
            var pins = File.ReadLines(Path.Combine(source, "host", "tools.txt"))
                .Select(l => l.Split('#')[0].Trim()).Where(l => l.Length > 0).ToList();
            Assert.NotEmpty(pins);
            var manifest = (await box.ScriptAsync(StandIns + " 3<<'PINS'\n" + string.Join('\n', pins) + "\nPINS\n", Bounded)).Trim();
            Assert.Equal(pins.Count, manifest.Split('\n').Length);
            InstallTests.CopyTree(Path.Combine(source, "host"), Path.Combine(tree.FullName, "host"));
            await File.WriteAllTextAsync(Path.Combine(tree.FullName, "host", "tools.txt"), "# stand-ins built by RebuiltTests\n" + manifest + "\n");

            // The program's commands, in its order.
            var g = GoldenChainTests.Golden(box.RepoRoot);
            await box.MustAsync(g["install"], stdin: HostWorld.HostBundle(box.RepoRoot, tree.FullName), timeout: Bounded);
            var @base = await box.MustAsync(HostCommands.Base(HostWorld.BaseInputsSha256(tree.FullName), new BaseSettings { ToolsMirror = Mirror }), timeout: Bounded);
            foreach (var pin in pins) Assert.Contains(@base.Changes(), l => l.Contains($"/usr/local/bin/{pin.Split(' ')[0]}", StringComparison.Ordinal));
            await box.MustAsync(g["site"], timeout: Bounded);
            foreach (var u in People)
            {
                await box.MustAsync(g[$"account:{u}"], timeout: Bounded);
                await box.MustAsync(g[$"code:{u}"], timeout: Bounded);
                await box.MustAsync(g[$"services:{u}"], timeout: Bounded);
                await box.MustAsync(g[$"secrets:{u}"], stdin: GoldenChainTests.Bundle(u), timeout: Bounded);
            }
            await box.MustAsync(g["maps"], timeout: Bounded);

            await McpBrowser.ServePagesAsync(box, """printf '<html><head><title>Rebuilt</title></head><body><h1>Rebuilt-from-git-osprey</h1></body></html>\n' >/srv/pages/rebuilt.html""", "rebuilt.html");
            foreach (var u in People)
            {
                // The toolset, on the PATH of the person's own login shell; the stand-ins answer as themselves.
                var names = Toolset.Concat(pins.Select(p => p.Split(' ')[0])).ToList();
                var found = (await box.MustAsync($"runuser -l {u} -c '{string.Join("; ", names.Select(n => $"echo \"{n}=$(command -v {n} || echo missing)\""))}'")).Stdout;
                foreach (var n in names) Assert.Matches(new Regex($"^{Regex.Escape(n)}=/\\S+$", RegexOptions.Multiline), found);
                foreach (var pin in pins.Select(p => p.Split(' ')))
                    Assert.Equal($"{pin[0]} {pin[1]} stand-in", (await box.MustAsync($"runuser -l {u} -c '{pin[0]}'")).Stdout.Trim());

                // The managed settings, the launcher and tmux, from /etc/skel.
                var facts = OnboardingTests.Facts(await box.ScriptAsync($$$"""
                    echo "autoupdater=$(runuser -u {{{u}}} -- jq -r .env.DISABLE_AUTOUPDATER /etc/claude-code/managed-settings.json)"
                    echo "launcher=$(runuser -u {{{u}}} -- grep -c 'cd "$HOME/code"' /home/{{{u}}}/start-claude.sh)"
                    echo "tmux=$(runuser -u {{{u}}} -- grep -c 'start-claude.sh' /home/{{{u}}}/.tmux.conf)"
                    echo "code=$(runuser -u {{{u}}} -- head -n 1 /home/{{{u}}}/code/README.md)"
                    echo "podman=$(cd /home/{{{u}}} && timeout 60 runuser -u {{{u}}} -- env -i HOME=/home/{{{u}}} USER={{{u}}} PATH=/usr/bin:/bin podman info --format '{{.Host.Security.Rootless}}')"
                    echo "subuid=$(grep "^{{{u}}}:" /etc/subuid)"
                    """, Bounded));
                FactAssert.Equal(facts,
                    ("autoupdater", "1"),
                    ("launcher", "1"));
                Assert.NotEqual("0", facts["tmux"]);
                FactAssert.Equal(facts,
                    ("code", "# Fixture"),
                    ("podman", "true"));
                var uid = int.Parse((await box.MustAsync($"id -u {u}")).Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal($"{u}:{Rules.SubIdStart(uid)}:{Rules.SubIdCount}", facts["subuid"]);

                // A browsing Playwright session on the person's own port.
                var port = int.Parse(Regex.Match(g[$"services:{u}"], @"--playwright-port (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                var session = await box.ScriptAsync(McpBrowser.Session(u, port) + "\n" + McpBrowser.WaitForServer(u, port) + "\nmcp_session 1 rebuilt.html\n", Bounded);
                Assert.Contains("heading \"Rebuilt-from-git-osprey\"", session, StringComparison.Ordinal);
            }
        }
        finally
        {
            tree.Delete(recursive: true);
            // This box is spent: the next test of the collection starts from its own `up`.
            await HostWorld.ResetAsync(box);
        }
    }
}

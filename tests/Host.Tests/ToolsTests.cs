
namespace Host.Tests;

/// <summary>
/// The tools Debian lacks: installed from a pinned version and sha256, every artifact checked
/// before any is installed, from a mirror (an http server or a folder in the box: the sandbox
/// can't reach upstream). The artifacts here are stand-ins the test builds itself, under the
/// manifest format of host/tools.txt with their own sha256; the real pins are first fetched on
/// the devvm.
/// </summary>
[Collection(SandboxCollection2.Name)]
public sealed class ToolsTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(60))
{
    private static readonly TestUser Tol = new("tol", 2234, 4434, 4534);
    private const string Mirror = "/srv/ws-mirror";
    private const string MirrorUrl = "http://127.0.0.1:4603";

    /// <summary>
    /// art NAME VERSION KIND: builds NAME's release VERSION as a plain file, a .zip or a .tar.gz
    /// (the program prints "NAME VERSION") into the mirror; prints its manifest line.
    /// </summary>
    private const string Build = """
        set -euo pipefail
        art() {
          local name="$1" version="$2" kind="$3" d file member=""
          d=$(mktemp -d)
          printf '#!/bin/sh\necho "%s %s"\n' "$name" "$version" >"$d/$name"
          chmod 755 "$d/$name"
          mkdir -p "/srv/ws-mirror/$name/$version"
          case "$kind" in
            plain) file="$name-linux-amd64"; cp "$d/$name" "/srv/ws-mirror/$name/$version/$file" ;;
            zip) file="$name-$version.zip"; member="bin/$name"; mkdir -p "$d/bin"; cp "$d/$name" "$d/bin/$name"
                 (cd "$d" && python3 -m zipfile -c "/srv/ws-mirror/$name/$version/$file" bin) ;;
            tar) file="$name-$version.tar.gz"; member="$name-$version/$name"; mkdir -p "$d/$name-$version"; cp "$d/$name" "$d/$name-$version/"
                 tar -C "$d" -czf "/srv/ws-mirror/$name/$version/$file" "$name-$version" ;;
          esac
          rm -rf "$d"
          echo "$name $version $(sha256sum "/srv/ws-mirror/$name/$version/$file" | cut -d' ' -f1) https://releases.example.invalid/$name/v$version/$file $member"
        }
        """;

    /// <summary>The change lines of an install that put a binary in place.</summary>
    private static string[] Installed(SshResult r) => r.Changes().Where(l => l.Contains("changed: /usr/local/bin/ws-", StringComparison.Ordinal)).ToArray();

    private async Task<string> ScriptAsync(string script) => await box.ScriptAsync(Build + "\n" + script, Bounded);

    /// <summary>What a person's login shell finds for each name, and what it prints.</summary>
    private async Task<string> AsPersonAsync(params string[] tools) =>
        (await box.MustAsync($"runuser -l tol -c '{string.Join("; ", tools.Select(t => $"echo \"$(command -v {t} || echo missing): $({t} 2>/dev/null)\""))}'")).Stdout;

    [Fact]
    public async Task Pinned_tools_install_from_a_mirror_and_a_tampered_artifact_is_refused_before_anything_is_installed()
    {
        await box.OnboardAsync(Tol, Bounded, token: true);
        await ScriptAsync("""
            rm -rf /srv/ws-mirror; mkdir -p /srv/ws-mirror
            { echo "# stand-ins"; art ws-plain 1.0 plain; art ws-zipped 2.1 zip; art ws-tarred 0.3 tar; } >/root/ws-tools.txt
            systemd-run --quiet --unit ws-mirror -p DynamicUser=yes --working-directory=/srv/ws-mirror python3 -m http.server 4603 --bind 127.0.0.1
            for _ in $(seq 1 40); do curl -fsS -m 2 -o /dev/null http://127.0.0.1:4603/ && break; sleep 0.25; done
            """);
        try
        {
            var first = await box.MustAsync(HostCommands.Manual.ToolsInstall("/root/ws-tools.txt", MirrorUrl), timeout: Bounded);
            Assert.Equal(3, Installed(first).Length);
            Assert.Contains(first.Changes(), l => l.Contains($"/usr/local/bin/ws-zipped 2.1 (sha256 ", StringComparison.Ordinal) &&
                                                  l.EndsWith($"from {MirrorUrl}/ws-zipped/2.1/ws-zipped-2.1.zip)", StringComparison.Ordinal));
            Assert.Equal(
                "/usr/local/bin/ws-plain: ws-plain 1.0\n/usr/local/bin/ws-zipped: ws-zipped 2.1\n/usr/local/bin/ws-tarred: ws-tarred 0.3\n",
                await AsPersonAsync("ws-plain", "ws-zipped", "ws-tarred"));
            Assert.Equal("755 root root\n", (await box.MustAsync("stat -c '%a %U %G' /usr/local/bin/ws-zipped")).Stdout);

            // Nothing changed: nothing fetched, nothing written.
            var again = await box.MustAsync(HostCommands.Manual.ToolsInstall("/root/ws-tools.txt", MirrorUrl), timeout: Bounded);
            Assert.Empty(again.Changes());

            // A new pin for ws-plain and a new tool; the mirror serves ws-plain 1.1 tampered with
            // after its pin was taken. Refused, naming it; neither tool is installed.
            await ScriptAsync("""
                { grep -v '^ws-plain ' /root/ws-tools.txt; art ws-plain 1.1 plain; art ws-new 1.0 plain; } >/root/ws-tools.next
                printf 'echo owned\n' >>/srv/ws-mirror/ws-plain/1.1/ws-plain-linux-amd64
                """);
            var before = await box.ScriptAsync("sha256sum /usr/local/bin/ws-plain; ls /usr/local/bin/ws-new 2>&1 || true");
            var tampered = await box.RunAsync(HostCommands.Manual.ToolsInstall("/root/ws-tools.next", MirrorUrl), timeout: Bounded);
            Assert.True(tampered.ExitCode == 3, tampered.ToString());
            Assert.Matches($"tools: ws-plain 1.1 from {MirrorUrl}/ws-plain/1.1/ws-plain-linux-amd64 has sha256 [0-9a-f]{{64}}, not the pinned [0-9a-f]{{64}}: refused; nothing was installed",
                tampered.Stderr);
            Assert.Equal(before, await box.ScriptAsync("sha256sum /usr/local/bin/ws-plain; ls /usr/local/bin/ws-new 2>&1 || true"));
            Assert.Equal("/usr/local/bin/ws-plain: ws-plain 1.0\n", await AsPersonAsync("ws-plain"));
            Assert.Equal("", (await box.MustAsync("ls -A /var/tmp | grep '^workstation-tools' || true")).Stdout);

            // The genuine bytes back, from a mirror folder this time: both installed.
            await ScriptAsync("sed -i '$d' /srv/ws-mirror/ws-plain/1.1/ws-plain-linux-amd64");
            var fixedUp = await box.MustAsync(HostCommands.Manual.ToolsInstall("/root/ws-tools.next", Mirror), timeout: Bounded);
            Assert.Equal(2, Installed(fixedUp).Length);
            Assert.Equal("/usr/local/bin/ws-plain: ws-plain 1.1\n/usr/local/bin/ws-new: ws-new 1.0\n", await AsPersonAsync("ws-plain", "ws-new"));
        }
        finally
        {
            await box.RunAsync("""
                systemctl stop ws-mirror
                rm -rf /srv/ws-mirror /root/ws-tools.txt /root/ws-tools.next
                rm -f /usr/local/bin/ws-plain /usr/local/bin/ws-zipped /usr/local/bin/ws-tarred /usr/local/bin/ws-new /usr/local/bin/ws-foreign
                rm -f /var/lib/workstation/tools/ws-*
                """);
        }
    }

    [Fact]
    public async Task A_binary_Workstation_did_not_install_is_left_alone_and_a_bad_manifest_line_is_named()
    {
        await HostWorld.ReadyAsync(box);
        await ScriptAsync("""
            mkdir -p /srv/ws-mirror
            art ws-foreign 1.0 plain >/root/ws-foreign.txt
            printf '#!/bin/sh\necho hand-installed\n' >/usr/local/bin/ws-foreign; chmod 755 /usr/local/bin/ws-foreign
            printf 'ws-bad 1.0 %s http://insecure.example/ws-bad\n' "$(printf x | sha256sum | cut -d' ' -f1)" >/root/ws-bad.txt
            """);
        try
        {
            var r = await box.MustAsync(HostCommands.Manual.ToolsInstall("/root/ws-foreign.txt", Mirror), timeout: Bounded);
            Assert.Empty(r.Changes());
            Assert.Contains("workstation: warning: /usr/local/bin/ws-foreign was not installed by Workstation: left alone", r.Stderr, StringComparison.Ordinal);
            Assert.Equal("hand-installed\n", (await box.MustAsync("/usr/local/bin/ws-foreign")).Stdout);

            var bad = await box.RunAsync(HostCommands.Manual.ToolsInstall("/root/ws-bad.txt", Mirror), timeout: Bounded);
            Assert.True(bad.ExitCode == 2, bad.ToString());
            Assert.Contains("/root/ws-bad.txt:1: ws-bad: http://insecure.example/ws-bad is not an https URL of a file", bad.Stderr, StringComparison.Ordinal);

            var mirror = await box.RunAsync(HostCommands.Manual.ToolsInstall("/root/ws-foreign.txt", "srv/relative"), timeout: Bounded);
            Assert.True(mirror.ExitCode == 2, mirror.ToString());
        }
        finally
        {
            await box.RunAsync("rm -rf /srv/ws-mirror /root/ws-foreign.txt /root/ws-bad.txt /usr/local/bin/ws-foreign");
        }
    }

    /// <summary>
    /// A registry stand-in on 127.0.0.1:4605 (root's npm reads it from /root/.npmrc, as an offline
    /// devvm would read its mirror): one package, ws-t3-standin, at 1.0.0 and 1.1.0, each a real
    /// npm tarball with its integrity in the packument; a `ws-t3` bin prints its version.
    /// </summary>
    private const string Registry = """
        set -euo pipefail
        rm -rf /srv/ws-npm; mkdir -p /srv/ws-npm
        for v in 1.0.0 1.1.0; do
          d=$(mktemp -d); mkdir -p "$d/package"
          printf '{"name":"ws-t3-standin","version":"%s","bin":{"ws-t3":"t3.js"}}\n' "$v" >"$d/package/package.json"
          printf '#!/usr/bin/env node\nconsole.log("t3 stand-in %s")\n' "$v" >"$d/package/t3.js"
          tar -C "$d" -czf "/srv/ws-npm/ws-t3-standin-$v.tgz" package
          rm -rf "$d"
        done
        cat >/srv/ws-npm/server.py <<'PY'
        import base64, hashlib, http.server, json, os
        root = "/srv/ws-npm"
        def packument():
            versions = {}
            for v in ("1.0.0", "1.1.0"):
                data = open(f"{root}/ws-t3-standin-{v}.tgz", "rb").read()
                versions[v] = {"name": "ws-t3-standin", "version": v, "bin": {"ws-t3": "t3.js"},
                               "dist": {"tarball": f"http://127.0.0.1:4605/ws-t3-standin/-/ws-t3-standin-{v}.tgz",
                                        "shasum": hashlib.sha1(data).hexdigest(),
                                        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()}}
            return json.dumps({"name": "ws-t3-standin", "dist-tags": {"latest": "1.1.0"}, "versions": versions}).encode()
        class Registry(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.rstrip("/") == "/ws-t3-standin":
                    body, kind = packument(), "application/json"
                elif self.path.startswith("/ws-t3-standin/-/"):
                    body, kind = open(f"{root}/{os.path.basename(self.path)}", "rb").read(), "application/octet-stream"
                else:
                    self.send_response(404); self.end_headers(); return
                self.send_response(200); self.send_header("content-type", kind); self.send_header("content-length", str(len(body)))
                self.end_headers(); self.wfile.write(body)
            def log_message(self, *args):
                pass
        http.server.HTTPServer(("127.0.0.1", 4605), Registry).serve_forever()
        PY
        systemd-run --quiet --unit ws-npm -p DynamicUser=yes python3 /srv/ws-npm/server.py
        for _ in $(seq 1 40); do curl -fsS -m 2 -o /dev/null http://127.0.0.1:4605/ws-t3-standin && break; sleep 0.25; done
        cp -a /root/.npmrc /root/.npmrc.ws-keep 2>/dev/null || true
        echo 'registry=http://127.0.0.1:4605/' >/root/.npmrc
        """;

    /// <summary>
    /// t3 is pinned like every npm global (the stack's t3Package): the base installs exactly the
    /// pinned version from the registry root's npm uses, a re-run changes nothing, a new pin is
    /// installed, and a tag or a range is refused before anything is done.
    /// </summary>
    [Fact]
    public async Task T3_is_installed_at_its_pin_and_a_tag_is_refused()
    {
        await box.OnboardAsync(Tol, Bounded, token: true);
        await box.ScriptAsync(Registry, Bounded);
        var tree = HostWorld.HostTreeParent(box.RepoRoot);
        string Base(string pin) => HostCommands.Base(HostWorld.BaseInputsSha256(tree), new BaseSettings { PinnedTools = false, T3Package = pin });
        try
        {
            var first = await box.MustAsync(Base("ws-t3-standin@1.0.0"), timeout: Bounded);
            Assert.Contains(first.Changes(), l => l.EndsWith("changed: npm global ws-t3-standin@1.0.0 (was absent)", StringComparison.Ordinal));
            Assert.Equal("t3 stand-in 1.0.0", (await box.MustAsync("runuser -l tol -c ws-t3")).Stdout.Trim());
            Assert.DoesNotContain((await box.MustAsync(Base("ws-t3-standin@1.0.0"), timeout: Bounded)).Changes(), l => l.Contains("npm global", StringComparison.Ordinal));

            var next = await box.MustAsync(Base("ws-t3-standin@1.1.0"), timeout: Bounded);
            Assert.Contains(next.Changes(), l => l.EndsWith("changed: npm global ws-t3-standin@1.1.0 (was 1.0.0)", StringComparison.Ordinal));
            Assert.Equal("t3 stand-in 1.1.0", (await box.MustAsync("runuser -l tol -c ws-t3")).Stdout.Trim());

            var tag = await box.RunAsync(Base("ws-t3-standin@1.1.0").Replace("@1.1.0", "@latest", StringComparison.Ordinal), timeout: Bounded);
            Assert.True(tag.ExitCode == 2, tag.ToString());
            Assert.Contains("--t3-package ws-t3-standin@latest: an npm package pinned to one version", tag.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await box.RunAsync("""
                npm uninstall -g --loglevel=error ws-t3-standin >/dev/null 2>&1 || true
                systemctl stop ws-npm; rm -rf /srv/ws-npm
                if [ -e /root/.npmrc.ws-keep ]; then mv -f /root/.npmrc.ws-keep /root/.npmrc; else rm -f /root/.npmrc; fi
                """);
        }
    }
}


namespace Host.Tests;

/// <summary>
/// Issue 24 §4 on the booted box: a private repository, served over loopback smart HTTP by
/// git-http-backend behind a server that answers 401 without the token. The code step leaves
/// the first clone to the secrets step, which stages the repo token (stdin, never argv) and
/// clones with the root-installed credential helper reading it from a 0600 file. The clone
/// holds no token; `git push` sends the person's own branch to the `forgejo` remote.
/// </summary>
[Collection(SandboxCollection3.Name)]
public sealed class RepoCredentialTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(120))
{
    private const string Token = "forge-tok-4e8a91c2";
    private const string RepoUrl = "http://127.0.0.1:18089/private.git";
    private const string Helper = HostCommands.InstallDir + "/bin/git-credential-workstation";

    /// <summary>The forge: a bare copy of the fixture repository and a server that demands the token (Basic auth password).</summary>
    private const string StartForge = """
        set -euo pipefail
        systemctl stop ws-forge 2>/dev/null || true
        systemctl reset-failed ws-forge 2>/dev/null || true
        rm -rf /srv/forge && mkdir -p -m 0700 /srv/forge
        git clone -q --bare /srv/fixture/repo.git /srv/forge/private.git
        git --git-dir=/srv/forge/private.git config http.receivepack true
        printf '%s' 'forge-tok-4e8a91c2' > /srv/forge/token
        cat > /srv/forge/server.py <<'PY'
        import base64, http.server, subprocess
        TOKEN = open('/srv/forge/token').read()
        class Forge(http.server.BaseHTTPRequestHandler):
            def serve(self):
                auth, ok = self.headers.get('Authorization', ''), False
                if auth.startswith('Basic '):
                    ok = base64.b64decode(auth[6:]).decode().partition(':')[2] == TOKEN
                with open('/srv/forge/log', 'a') as log:
                    log.write(f"{self.command} {self.path.partition('?')[0]} {'ok' if ok else ('bad' if auth else 'none')}\n")
                if not ok:
                    self.send_response(401)
                    self.send_header('WWW-Authenticate', 'Basic realm="forge"')
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                path, _, query = self.path.partition('?')
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                env = {'GIT_PROJECT_ROOT': '/srv/forge', 'GIT_HTTP_EXPORT_ALL': '1', 'PATH_INFO': path, 'QUERY_STRING': query,
                       'REQUEST_METHOD': self.command, 'CONTENT_TYPE': self.headers.get('Content-Type', ''),
                       'CONTENT_LENGTH': str(len(body)), 'REMOTE_USER': 'workstation', 'REMOTE_ADDR': '127.0.0.1'}
                out = subprocess.run(['/usr/lib/git-core/git-http-backend'], input=body, env=env, capture_output=True, timeout=30).stdout
                sep = b'\r\n\r\n' if b'\r\n\r\n' in out else b'\n\n'
                head, _, rest = out.partition(sep)
                status, headers = 200, []
                for line in head.decode().splitlines():
                    k, _, v = line.partition(':')
                    if k.lower() == 'status':
                        status = int(v.split()[0])
                    else:
                        headers.append((k, v.strip()))
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header('Content-Length', str(len(rest)))
                self.end_headers()
                self.wfile.write(rest)
            do_GET = serve
            do_POST = serve
        http.server.ThreadingHTTPServer(('127.0.0.1', 18089), Forge).serve_forever()
        PY
        systemd-run --quiet --unit=ws-forge -p RuntimeMaxSec=600 python3 /srv/forge/server.py
        for _ in $(seq 1 40); do (exec 3<>/dev/tcp/127.0.0.1/18089) 2>/dev/null && exit 0; sleep 0.25; done
        echo "the forge did not start" >&2; exit 1
        """;

    [Fact]
    public async Task S4_A_private_repository_clones_with_the_staged_token_which_is_never_an_argument_nor_in_the_clone_and_push_goes_to_the_persons_branch()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync("bash -s", stdin: StartForge, timeout: Bounded);
        try
        {
            await box.MustAsync(HostWorld.SiteCommand(repoUrl: RepoUrl));
            var u = new TestUser("rc1", 2411, 4611, 4711);
            var d = u.Derived();
            await box.MustAsync(u.Account(), timeout: Bounded);

            // The control: the forge refuses the person without the token.
            var refused = await box.RunAsync($"runuser -u {u.Name} -- env HOME={u.Home} GIT_TERMINAL_PROMPT=0 timeout 20 git ls-remote {RepoUrl}", timeout: Bounded);
            Assert.NotEqual(0, refused.ExitCode);

            // The code step runs first (the program's order) and leaves the clone to the secrets step.
            var code = await box.MustAsync(HostCommands.Code(d, repoToken: true), timeout: Bounded);
            Assert.Contains("no repo-token staged for rc1 yet", code.Stdout + code.Stderr, StringComparison.Ordinal);
            Assert.Equal("absent", (await box.ScriptAsync($"test -e {u.Home}/code && echo present || echo absent")).Trim());

            // Every process's argument vector, sampled while the secrets step stages and clones.
            var scan = await ArgvScan.StartAsync(box, "ws-forge-scan", [Token], "control-5d2f", maxSeconds: 120);
            var secrets = await box.MustAsync(HostCommands.Secrets(d, [SharedSecret.RepoToken], new Dictionary<SharedSecret, int>(), null),
                stdin: $"{{\"repo-token\":\"{Token}\"}}", timeout: Bounded);
            var found = await scan.StopAsync();
            Assert.Contains("control-5d2f", found, StringComparison.Ordinal);
            Assert.DoesNotContain(found.Split('\n'), l => l.Contains(Token, StringComparison.Ordinal) && !l.Contains("grep -F", StringComparison.Ordinal));
            Assert.DoesNotContain(Token, secrets.Stdout + secrets.Stderr, StringComparison.Ordinal);

            var facts = OnboardingTests.Facts(await box.ScriptAsync($$"""
                set -euo pipefail
                as() { runuser -u {{u.Name}} -- env HOME={{u.Home}} "$@"; }
                cd {{u.Home}}/code
                echo "token=$(stat -c '%a %U' {{u.Home}}/.config/workstation/repo-token)"
                echo "branch=$(as git rev-parse --abbrev-ref HEAD)"
                echo "remotes=$(as git remote | paste -sd,) $(as git config remote.forgejo.url)"
                echo "helper=$(as git config --get-all credential.helper | paste -sd,)"
                echo "push=$(as git config push.default) $(as git config remote.pushDefault)"
                echo "leaks=$(grep -rlF {{Token}} {{u.Home}}/code/.git | wc -l)"
                echo "readme=$(head -n1 README.md)"
                echo "forge=$(grep -c ' ok$' /srv/forge/log)"
                """));
            FactAssert.Equal(facts,
                ("token", "600 rc1"),
                ("branch", "rc1"),
                ("remotes", $"forgejo {RepoUrl}"),
                ("helper", Helper),
                ("push", "current forgejo"),
                ("leaks", "0"),
                ("readme", "# Fixture"));
            Assert.NotEqual("0", facts["forge"]);

            // `git push`, no arguments, as the person: their own branch on the forge; main untouched.
            var main = await box.ScriptAsync("git --git-dir=/srv/forge/private.git rev-parse refs/heads/main");
            await box.MustAsync($"runuser -u {u.Name} -- env HOME={u.Home} GIT_TERMINAL_PROMPT=0 sh -ec " +
                HostCommands.Quote("cd ~/code; echo 'rc1 was here' >> README.md; git -c user.name=rc1 -c user.email=rc1@example.test commit -qam 'rc1 edits'; timeout 30 git push -q"),
                timeout: Bounded);
            Assert.Equal(await box.ScriptAsync($"runuser -u {u.Name} -- git -C {u.Home}/code rev-parse HEAD"),
                await box.ScriptAsync("git --git-dir=/srv/forge/private.git rev-parse refs/heads/rc1"));
            Assert.Equal(main, await box.ScriptAsync("git --git-dir=/srv/forge/private.git rev-parse refs/heads/main"));

            // The helper answers only for the repository's scheme and host: another server gets nothing.
            var elsewhere = await box.MustAsync($"printf 'protocol=http\\nhost=127.0.0.2:18089\\n\\n' | runuser -u {u.Name} -- env HOME={u.Home} {Helper} get");
            Assert.Equal("", elsewhere.Stdout);
            var here = await box.MustAsync($"printf 'protocol=http\\nhost=127.0.0.1:18089\\n\\n' | runuser -u {u.Name} -- env HOME={u.Home} {Helper} get");
            Assert.Contains($"password={Token}\n", here.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            await box.RunAsync("systemctl stop ws-forge ws-forge-scan 2>/dev/null || true");
            await box.MustAsync(HostWorld.SiteCommand());
        }
    }
}

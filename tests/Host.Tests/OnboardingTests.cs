
namespace Host.Tests;

/// <summary>`user apply` on a fresh box, run twice: everything is created, then nothing changes.</summary>
[Collection(SandboxCollection.Name)]
public sealed class OnboardingTests(SandboxFixture box, ITestOutputHelper output)
{
    private static readonly TestUser Ana = new("ana", 2101, 4101, 4201);
    private static readonly TestUser Bea = new("bea", 2102, 4102, 4202, "admin", ["code-shared", "docker", "sudo"]);

    [Fact]
    public async Task Onboarding_from_empty_creates_account_clone_kubeconfig_env_files_and_running_services()
    {
        await HostWorld.ReadyAsync(box);
        var before = await box.ScriptAsync("getent passwd ana || true; ls -d /home/ana 2>/dev/null || true");
        Assert.Equal("", before.Trim());

        var sw = Stopwatch.StartNew();
        var r = await box.MustAsync(Ana.Apply(), stdin: Ana.TokenStdin); // the one SSH session of an onboarding
        sw.Stop();
        output.WriteLine($"onboarding ana: {sw.Elapsed.TotalSeconds:F1}s, 1 SSH session; {r.Changes().Length} changes");
        Assert.DoesNotContain(Ana.Token, r.Stdout + r.Stderr, StringComparison.Ordinal);

        var facts = Facts(await box.ScriptAsync("""
            set -euo pipefail
            u=ana; h=/home/ana
            echo "passwd=$(getent passwd $u)"
            echo "groups=$(id -nG $u)"
            echo "status=$(passwd -S $u | cut -d' ' -f2)"
            echo "home=$(stat -c '%a %U' $h)"
            echo "logindefs=UMASK $(awk '$1 == "UMASK" { print $2 }' /etc/login.defs), HOME_MODE $(awk '$1 == "HOME_MODE" { print $2 }' /etc/login.defs | grep . || echo unset)"
            echo "kube=$(stat -c '%a %U %G' $h/.kube/config)"
            echo "kubeexec=$(grep -o -- '- oidc-login' $h/.kube/config) $(grep -o -- '- get-token' $h/.kube/config) $(grep -o -- '--oidc-issuer-url=[^"]*' $h/.kube/config) $(grep -o -- '--oidc-client-id=[^"]*' $h/.kube/config)"
            echo "vault=$(grep -v '^#' $h/.zshrc.d/vault.sh | paste -sd'|')"
            echo "pwenv=$(cat /etc/workstation/playwright-$u.env)"
            echo "t3env=$(cat /etc/workstation/t3-$u.env)"
            echo "token=$(stat -c '%a %U' $h/.config/workstation/snapshot-token) $(cat $h/.config/workstation/snapshot-token)"
            echo "code=$(stat -c '%U %F' $h/code) $(runuser -u $u -- git -C $h/code rev-parse --abbrev-ref HEAD)"
            echo "active=$(systemctl is-active playwright-mcp@$u.service t3-serve@$u.service playwright-snapshot-refresh@$u.timer | paste -sd,)"
            echo "enabled=$(systemctl is-enabled playwright-mcp@$u.service t3-serve@$u.service playwright-snapshot-refresh@$u.timer | paste -sd,)"
            echo "user=$(systemctl show -p User --value playwright-mcp@$u.service),$(systemctl show -p User --value t3-serve@$u.service)"
            echo "slice=$(systemctl show -p Slice --value playwright-mcp@$u.service)"
            echo "leftovers=$(find $h -maxdepth 1 -name '.code.clone-*' | wc -l)"
            echo "tokencopies=$(grep -rlF -D skip --exclude-dir=proc --exclude-dir=sys 'snap-ana-T0k3n-7f3a9c' /etc /home /root /tmp /var/log /run /usr/local/lib/workstation 2>/dev/null | paste -sd,)"
            """));

        Assert.Equal("ana:x:2101:2101::/home/ana:/bin/zsh", facts["passwd"]);
        Assert.Contains("workstation", facts["groups"].Split(' '));
        FactAssert.Equal(facts,
            ("status", "L"),
            // 0700 whatever login.defs says: the box's says UMASK 022 and no HOME_MODE, so useradd alone would make it 0755.
            ("home", "700 ana"),
            ("logindefs", "UMASK 022, HOME_MODE unset"));
        using (var status = System.Text.Json.JsonDocument.Parse((await box.MustAsync(Ana.Status())).Stdout))
            Assert.DoesNotContain(status.RootElement.GetProperty("drift").EnumerateArray(), d => d.GetProperty("kind").GetString() == "home-mode");
        FactAssert.Equal(facts,
            ("kube", "600 ana ana"),
            ("kubeexec", "- oidc-login - get-token --oidc-issuer-url=https://auth.example.test/application/o/kubernetes/ --oidc-client-id=kubernetes"),
            ("vault", "export VAULT_ADDR='https://vault.example.test'"),
            ("pwenv", "PLAYWRIGHT_PORT=4201"),
            ("t3env", "T3_PORT=4101"),
            ("token", $"600 ana {Ana.Token}"),
            ("code", "ana directory ana"), // on her own branch (issue 24 §4)
            ("active", "active,active,active"),
            ("enabled", "enabled,enabled,enabled"),
            ("user", "ana,ana"),
            ("slice", "workstation-ana.slice"),
            ("leftovers", "0"),
            // The token exists in exactly one file.
            ("tokencopies", "/home/ana/.config/workstation/snapshot-token"));
    }

    [Fact]
    public async Task Second_apply_changes_nothing_byte_for_byte()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Bea.Apply(), stdin: Bea.TokenStdin);
        var groups = await box.ScriptAsync("id -nG bea");
        Assert.Equal(["bea", "code-shared", "docker", "sudo", "workstation"], groups.Split(' ', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));

        var before = await box.ScriptAsync(HostWorld.Snapshot);
        var sw = Stopwatch.StartNew();
        var again = await box.MustAsync(Bea.Apply(), stdin: Bea.TokenStdin);
        sw.Stop();
        var after = await box.ScriptAsync(HostWorld.Snapshot);
        output.WriteLine($"idempotent re-apply bea: {sw.Elapsed.TotalSeconds:F1}s, 1 SSH session, {again.Changes().Length} changes");

        Assert.Empty(again.Changes());
        await box.AssertSameAsync(before, after, "the second apply changed the box");
        Assert.Contains("playwright-mcp@bea.service enabled", after, StringComparison.Ordinal);

        // Without the secrets step, and once more: still nothing.
        var third = await box.MustAsync(Bea.Apply(tokenStdin: false));
        Assert.Empty(third.Changes());
        var last = await box.ScriptAsync(HostWorld.Snapshot);
        await box.AssertSameAsync(before, last, "the third apply changed the box");
    }

    /// <summary>Pulumi applies users in parallel: concurrent onboardings (sharing new tier groups) all converge.</summary>
    [Fact]
    public async Task Parallel_onboardings_all_succeed()
    {
        await HostWorld.ReadyAsync(box);
        TestUser[] users = [new("pa1", 2121, 4121, 4221, "admin", ["code-shared", "docker", "sudo", "ws-par"]),
            new("pa2", 2122, 4122, 4222, "admin", ["code-shared", "docker", "sudo", "ws-par"]),
            new("pa3", 2123, 4123, 4223, "admin", ["code-shared", "docker", "sudo", "ws-par"])];
        var sw = Stopwatch.StartNew();
        var results = await Task.WhenAll(users.Select(u => box.RunAsync(u.Apply(), stdin: u.TokenStdin)));
        output.WriteLine($"3 parallel onboardings: {sw.Elapsed.TotalSeconds:F1}s");
        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.ToString()));
        var check = await box.ScriptAsync("""
            for u in pa1 pa2 pa3; do
              echo "$u $(id -nG $u | tr ' ' '\n' | sort | paste -sd,) $(systemctl is-active playwright-mcp@$u.service t3-serve@$u.service | paste -sd,) $(ls /home/$u/code/README.md)"
            done
            getent group ws-par | cut -d: -f1,4
            """);
        Assert.Equal(
            "pa1 code-shared,docker,pa1,sudo,workstation,ws-par active,active /home/pa1/code/README.md\n" +
            "pa2 code-shared,docker,pa2,sudo,workstation,ws-par active,active /home/pa2/code/README.md\n" +
            "pa3 code-shared,docker,pa3,sudo,workstation,ws-par active,active /home/pa3/code/README.md\n",
            string.Join('\n', check.Split('\n').Take(3)) + "\n");
        Assert.Equal(["pa1", "pa2", "pa3"], check.Split('\n')[3].Split(':')[1].Split(',').Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// `user apply` (the manual verb, the three steps in one run) leaves a person exactly as the
    /// program's three steps do, and is idempotent like them.
    /// </summary>
    [Fact]
    public async Task The_manual_user_apply_onboards_exactly_as_the_three_steps_do()
    {
        await HostWorld.ReadyAsync(box);
        var steps = new TestUser("man1", 2124, 4124, 4224);
        var manual = new TestUser("man2", 2125, 4125, 4225);
        await box.MustAsync(steps.Apply(), stdin: steps.TokenStdin);
        await box.MustAsync(HostCommands.Manual.UserApply(manual.Derived()));
        await box.MustAsync(manual.Secrets(), stdin: manual.TokenStdin);
        await box.AssertSameAsync(await box.ScriptAsync(HostWorld.NormalisedUserState(steps)),
            await box.ScriptAsync(HostWorld.NormalisedUserState(manual)), "user apply differs from the three steps");
        Assert.Empty((await box.MustAsync(HostCommands.Manual.UserApply(manual.Derived()))).Changes());
    }

    internal static Dictionary<string, string> Facts(string text)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0) d[line[..eq]] = line[(eq + 1)..];
        }
        return d;
    }
}


namespace Host.Tests;

/// <summary>Hardening must not break the people it protects: the admin's t3 terminals may change the system, nobody else's.</summary>
[Collection(SandboxCollection.Name)]
public sealed class HardeningTests(SandboxFixture box)
{
    private static readonly TestUser Lea = new("lea", 2171, 4171, 4271, "admin", ["code-shared", "docker", "sudo"]);
    private static readonly TestUser Max = new("max", 2172, 4172, 4272);

    /// <summary>
    /// The unit templates name the user with %i: an instance "mo-ri" runs as mo-ri (with %I,
    /// systemd would unescape the "-" to "/" and the units could not start).
    /// </summary>
    [Fact]
    public async Task A_user_whose_name_has_a_dash_gets_units_running_as_them()
    {
        await HostWorld.ReadyAsync(box);
        var mori = new TestUser("mo-ri", 2173, 4173, 4273);
        await box.MustAsync(mori.Apply(), stdin: mori.TokenStdin);
        var r = await box.ScriptAsync("""
            for u in playwright-mcp@mo-ri.service t3-serve@mo-ri.service; do
              pid=$(systemctl show -p MainPID --value "$u")
              echo "${u%%@*}=$(systemctl is-active "$u"),$(ps -o user= -p "$pid")"
            done
            """);
        var f = OnboardingTests.Facts(r);
        FactAssert.Equal(f,
            ("playwright-mcp", "active,mo-ri"),
            ("t3-serve", "active,mo-ri"));
        Assert.Equal("0", (await box.MustAsync(mori.FirewallCheck() + " >/dev/null; echo $?")).Stdout.Trim());
    }

    /// <summary>
    /// Writes to /etc from inside each user's running t3-serve (its mount namespace, as root, the
    /// way `sudo` in a t3 terminal would): the admin's succeeds, a power-user's hits a read-only
    /// /etc. Demoting the admin takes the exception away at once (a lost privilege does not wait for the idle gate).
    /// </summary>
    [Fact]
    public async Task The_admins_t3_may_write_to_etc_and_a_power_users_may_not()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Lea.Apply(), stdin: Lea.TokenStdin);
        await box.MustAsync(Max.Apply(), stdin: Max.TokenStdin);
        const string Probe = """
            try_etc() {
              local pid
              pid=$(systemctl show -p MainPID --value "t3-serve@$1.service")
              if nsenter -t "$pid" -m touch "/etc/ws-written-by-$1-t3" 2>/dev/null; then echo written; else echo refused; fi
              rm -f "/etc/ws-written-by-$1-t3"
            }
            echo "lea=$(try_etc lea)"
            echo "max=$(try_etc max)"
            """;
        var f = OnboardingTests.Facts(await box.ScriptAsync(Probe));
        FactAssert.Equal(f,
            ("lea", "written"),
            ("max", "refused"));

        var demoted = await box.MustAsync(Lea.Account(tier: "power-user", groups: []));
        Assert.Contains("workstation: changed: removed /etc/systemd/system/t3-serve@lea.service.d/50-workstation-tier.conf", demoted.Changes());
        // A lost privilege does not wait for lea to be idle: her t3 restarts at once, read-only.
        Assert.Contains("workstation: changed: restarted t3-serve@lea.service at once: lea left the admin tier", demoted.Changes());
        Assert.DoesNotContain("restart pending", demoted.Stdout, StringComparison.Ordinal);
        Assert.Equal("refused", OnboardingTests.Facts(await box.ScriptAsync(Probe))["lea"]);
    }
    /// <summary>
    /// Issue 25 §3, extra defence: the base step asks for kernel.yama.ptrace_scope 1 at every boot
    /// (and now, when the kernel has Yama at 0), and the host reads the kernel's scope as it is:
    /// the box's kernel has no Yama, so it must say "absent", not a wish. (That `workstation status`
    /// reports what ptrace_scope reads, in both forms, is HostLocalTests': `status` reads every
    /// person on the box, minutes on the shared box.)
    /// </summary>
    [Fact]
    public async Task The_base_asks_for_ptrace_scope_1_and_the_host_reads_the_kernels_own_scope()
    {
        await HostWorld.ReadyAsync(box);
        var f = OnboardingTests.Facts(await box.ScriptAsync("""
            echo "file=$(grep -v '^#' /etc/sysctl.d/60-workstation-ptrace.conf 2>/dev/null || echo none)"
            echo "kernel=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo absent)"
            echo "host=$(bash -c 'set -euo pipefail; l=/usr/local/lib/workstation/lib; source "$l/common.sh"; source "$l/base.sh"; ptrace_scope')"
            """));
        FactAssert.Equal(f,
            ("file", "-kernel.yama.ptrace_scope = 1"),
            ("host", f["kernel"]));
    }
}

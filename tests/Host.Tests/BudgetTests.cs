
namespace Host.Tests;

/// <summary>
/// A person's budget holds on the host: both slices their processes run in (their services', and
/// their login sessions') carry the roster's limits, a change reaches the running slices without a
/// restart, and a memory hog is killed inside its own slice while a neighbour keeps working.
/// </summary>
[Collection(SandboxCollection2.Name)]
public sealed class BudgetTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(60))
{
    private const long M = 1L << 20;

    private static readonly TestUser Bud = new("bud", 2230, 4430, 4530, Budget: new Budget(512 * M, 768 * M, 50, 300));

    /// <summary>The attacker: a small budget, logging in over SSH like anyone.</summary>
    private static readonly TestUser Hog = new("hog", 2231, 4431, 4531, Budget: new Budget(192 * M, 256 * M, 100, 512));

    private static readonly TestUser Nbr = new("nbr", 2232, 4432, 4532);

    /// <summary>A slice's limits as systemd holds them, and as the kernel enforces them (its live memory cgroup).</summary>
    private async Task<string> LimitsAsync(string slice) => (await box.MustAsync($$"""
        systemctl show -p MemoryHigh -p MemoryMax -p CPUWeight -p TasksMax {{slice}} | sort
        cg=$(systemctl show -p ControlGroup --value {{slice}})
        if [ -f "/sys/fs/cgroup/memory$cg/memory.limit_in_bytes" ]; then echo "kernel=$(cat "/sys/fs/cgroup/memory$cg/memory.limit_in_bytes")"
        elif [ -f "/sys/fs/cgroup$cg/memory.max" ]; then echo "kernel=$(cat "/sys/fs/cgroup$cg/memory.max")"
        else echo "kernel=none"; fi
        """)).Stdout;

    private static string Expected(Budget b) =>
        $"CPUWeight={b.CpuWeight}\nMemoryHigh={b.MemoryHigh}\nMemoryMax={b.MemoryMax}\nTasksMax={b.TasksMax}\nkernel={b.MemoryMax}\n";

    private async Task<string> MainPidAsync(string unit) =>
        (await box.MustAsync($"systemctl show -p MainPID --value {unit}")).Stdout.Trim();

    [Fact]
    public async Task Both_slices_carry_the_budget_and_a_change_reaches_them_in_place_without_a_restart()
    {
        await box.OnboardAsync(Bud, Bounded, token: true);
        // The login sessions' slice is live while bud has a session: one that lasts the test.
        await box.MustAsync("systemd-run --quiet --unit ws-bud-session --uid bud --slice user-2230.slice sleep 600");
        try
        {
            Assert.Equal(Expected(Bud.Budget!), await LimitsAsync("workstation-bud.slice"));
            Assert.Equal(Expected(Bud.Budget!), await LimitsAsync("user-2230.slice"));
            var pid = await MainPidAsync("playwright-mcp@bud.service");

            var bigger = Bud with { Budget = new Budget(1024 * M, 1536 * M, 80, 600) };
            var r = await box.MustAsync(HostCommands.Services(bigger.Derived()), timeout: Bounded);
            Assert.Contains(r.Changes(), l => l.EndsWith("/etc/systemd/system/workstation-bud.slice.d/50-workstation-budget.conf", StringComparison.Ordinal));
            Assert.Equal(Expected(bigger.Budget!), await LimitsAsync("workstation-bud.slice"));
            Assert.Equal(Expected(bigger.Budget!), await LimitsAsync("user-2230.slice"));
            Assert.Equal(pid, await MainPidAsync("playwright-mcp@bud.service"));

            var again = await box.MustAsync(HostCommands.Services(bigger.Derived()), timeout: Bounded);
            Assert.Empty(again.Changes());
        }
        finally
        {
            await box.RunAsync("systemctl stop ws-bud-session");
        }
    }

    [Fact]
    public async Task A_memory_hog_is_killed_inside_its_own_slices_while_a_neighbours_service_keeps_answering()
    {
        await box.OnboardAsync(Nbr, Bounded, token: true);
        await box.MustAsync(Hog.Apply(), stdin: Hog.TokenStdin, timeout: Bounded);
        var neighbour = await MainPidAsync("playwright-mcp@nbr.service");
        await box.ScriptAsync(HostWorld.AuthorizeLoginKey("hog"));
        try
        {
            // 1 GiB of touched pages: four times hog's memory_max. The sandbox machine has plenty, so
            // only the budget can stop it. Once from an SSH login, once in hog's services' slice
            // (where their t3 terminals run).
            var facts = OnboardingTests.Facts(await box.ScriptAsync("""
                set -uo pipefail
                hog='import time; b = bytearray(b"x" * (1 << 30)); print("allocated", flush=True); time.sleep(1)'
                ssh -n -i /root/hog_key -p "$(awk '$1 == "Port" { print $2 }' /etc/ssh/sshd_config)" -o BatchMode=yes \
                  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 \
                  hog@127.0.0.1 "timeout 30 python3 -c '$hog'; echo py_exit=\$?" >/tmp/hog-ssh.out 2>&1
                echo "ssh_exit=$?"
                echo "ssh_session=$(ssh -n -i /root/hog_key -p "$(awk '$1 == "Port" { print $2 }' /etc/ssh/sshd_config)" -o BatchMode=yes \
                  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 \
                  hog@127.0.0.1 'grep -E ":(memory|name=systemd):" /proc/self/cgroup | tr "\n" " "')"
                echo "ssh_allocated=$(grep -c allocated /tmp/hog-ssh.out)"
                echo "ssh_out=$(tr '\n' ' ' </tmp/hog-ssh.out)"
                systemd-run --wait --collect --uid hog --slice workstation-hog.slice -p RuntimeMaxSec=30 \
                  python3 -c "$hog" >/tmp/hog-t3.out 2>&1
                echo "t3_exit=$?"
                echo "t3_result=$(grep -o 'code=[a-z]*/status=[A-Z0-9]*' /tmp/hog-t3.out || tr '\n' ' ' </tmp/hog-t3.out)"
                # The kernel's own count of the times each of hog's slices hit its limit (v1 memory.failcnt, v2 "max" in memory.events).
                for slice in user-2231.slice workstation-hog.slice; do
                  cg=$(systemctl show -p ControlGroup --value "$slice")
                  if [ -f "/sys/fs/cgroup/memory$cg/memory.failcnt" ]; then n=$(cat "/sys/fs/cgroup/memory$cg/memory.failcnt")
                  else n=$(awk '$1 == "max" { print $2 }' "/sys/fs/cgroup$cg/memory.events" 2>/dev/null); fi
                  echo "limit_hits_${slice%%.*}=${n:-none}"
                done
                # The neighbour, as themselves (the firewall admits the owner only): an MCP initialize.
                body='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"host-tests","version":"1"}}}'
                answered=no
                for _ in $(seq 1 40); do
                  if runuser -u nbr -- curl -sS -m 5 -X POST http://127.0.0.1:4532/mcp -H 'Content-Type: application/json' \
                       -H 'Accept: application/json, text/event-stream' -d "$body" 2>/dev/null | grep -q '"serverInfo"'; then answered=yes; break; fi
                  sleep 0.5
                done
                echo "neighbour_answered=$answered"
                """, TimeSpan.FromSeconds(120)));

            // Killed by the kernel's OOM killer inside hog's own slices, before it had its memory. (The
            // kill may take the SSH session's shell along: then ssh reports the lost connection.)
            var all = string.Join('\n', facts.Select(f => $"{f.Key}={f.Value}"));
            Assert.True(facts["ssh_allocated"] == "0", all);
            Assert.True(facts["ssh_out"].Contains("py_exit=137", StringComparison.Ordinal) || facts["ssh_exit"] == "255", all);
            Assert.True(int.TryParse(facts["limit_hits_user-2231"], out var sessionHits) && sessionHits >= 1, all);
            Assert.True(int.TryParse(facts["limit_hits_workstation-hog"], out var serviceHits) && serviceHits >= 1, all);
            Assert.Contains(":memory:/user.slice/user-2231.slice/session-", facts["ssh_session"], StringComparison.Ordinal);
            Assert.True(facts["t3_exit"] != "0", all);
            // SIGKILL from the kernel's OOM killer (systemd calls the result oom-kill on cgroup v2, signal on v1).
            Assert.True(facts["t3_result"] == "code=killed/status=KILL", all);
            Assert.True(facts["neighbour_answered"] == "yes", all);
            Assert.Equal(neighbour, await MainPidAsync("playwright-mcp@nbr.service"));
        }
        finally
        {
            await box.RunAsync("rm -f /root/hog_key /root/hog_key.pub /home/hog/.ssh/authorized_keys /tmp/hog-ssh.out /tmp/hog-t3.out");
        }
    }
}

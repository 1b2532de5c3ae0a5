
namespace Host.Tests;

/// <summary>
/// Issue 24 §2: budgets never hurt a live person on the first `up`. A hand-made account already
/// running 300 MiB of work in its login slice is adopted under a roster whose default budget is
/// smaller (the defaults scaled down to fit the test): `adopt plan` measures and proposes, the
/// first apply only observes (no limit, the work neither killed nor throttled), a budget below the
/// use is refused naming both numbers, and the proposed one applies.
/// </summary>
[Collection(SandboxCollection2.Name)]
public sealed partial class ObservedBudgetTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(90))
{
    private const long M = 1L << 20;
    private const string Name = "obs";
    private const int Uid = 2240;
    private const string LoginSlice = "user-2240.slice";
    private const string Work = "ws-obs-work";

    /// <summary>The roster's budgets scaled down: a power user's default is below what obs uses.</summary>
    private static readonly RosterSettings Scaled = RosterSettings.Default with
    {
        TierBudgets = new Dictionary<Tier, Budget> { [Tier.PowerUser] = new(128 * M, 192 * M, 100, 4096) },
    };

    private static DerivedUser Obs(BudgetOverride? budget = null) => Derivation.Derive(
        new Person(Name, Name + ".a", Name, null, Tier.PowerUser, [], new Dictionary<string, string>(), new Ports(4440, 4540), Uid,
            Adopt: true, [], false, budget), Scaled);

    /// <summary>The work's pid, whether it runs, and the login slice's memory limits and throttling count as the kernel holds them.</summary>
    private async Task<(string Pid, string State, string High, string Max, long HighEvents)> WorkAsync()
    {
        var o = (await box.MustAsync($$"""
            echo "pid=$(systemctl show -p MainPID --value {{Work}})"
            echo "state=$(systemctl is-active {{Work}} || true)"
            # Before accounting is on, the slice has no memory controller: no limit, nothing counted.
            # cgroup v2: memory.high, memory.max and the "high" count of memory.events; v1 (the
            # sandbox's hybrid hierarchy) has no high: limit_in_bytes (no limit: near 2^63) and failcnt.
            cg=$(systemctl show -p ControlGroup --value {{LoginSlice}})
            v1=/sys/fs/cgroup/memory$cg
            if [ -f "/sys/fs/cgroup$cg/memory.max" ]; then
              echo "high=$(cat "/sys/fs/cgroup$cg/memory.high")"
              echo "max=$(cat "/sys/fs/cgroup$cg/memory.max")"
              echo "events=$(awk '$1 == "high" { print $2 }' "/sys/fs/cgroup$cg/memory.events")"
            elif [ -f "$v1/memory.limit_in_bytes" ]; then
              echo "high=max"
              l=$(cat "$v1/memory.limit_in_bytes"); [ "$l" -ge $((1 << 62)) ] && l=max
              echo "max=$l"
              echo "events=$(cat "$v1/memory.failcnt")"
            else
              echo "high=none"; echo "max=none"; echo "events="
            fi
            """)).Stdout;
        string V(string k) => Regex.Match(o, $"^{k}=(.*)$", RegexOptions.Multiline).Groups[1].Value;
        return (V("pid"), V("state"), V("high"), V("max"), V("events") is { Length: > 0 } n ? long.Parse(n, CultureInfo.InvariantCulture) : 0);
    }

    [GeneratedRegex(@"^memory: obs: propose budget: \{ memory_high: (\d+)M, memory_max: (\d+)M \}", RegexOptions.Multiline)]
    private static partial Regex Proposal();

    [GeneratedRegex(@"^memory: obs uses (\d+)M \(workstation-obs\.slice: current [^;]*; user-2240\.slice: current [^;]*; RSS of their processes (\d+)M\)", RegexOptions.Multiline)]
    private static partial Regex Measured();

    [Fact]
    public async Task S2_A_person_using_more_than_the_default_budget_is_neither_killed_nor_throttled_by_the_first_apply()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync($"getent passwd {Name} >/dev/null || useradd -m -u {Uid} -s /bin/bash {Name}");
        // 300 MiB of resident work in obs's login slice, there before Workstation is. It keeps
        // allocating afresh (as a build or a Claude session does), so a limit set now would bite.
        await box.MustAsync($$"""
            printf '%s\n' 'import time' 'while True:' '    b = bytes([1]) * (300 << 20)' '    time.sleep(0.3)' >/usr/local/lib/ws-obs-work.py
            systemd-run --quiet --unit {{Work}} --uid {{Name}} --slice {{LoginSlice}} python3 /usr/local/lib/ws-obs-work.py
            """);
        try
        {
            await box.MustAsync($$"""
                pid=$(systemctl show -p MainPID --value {{Work}})
                for _ in $(seq 1 50); do [ "$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status")" -gt $((300 << 10)) ] && exit 0; sleep 0.2; done; exit 1
                """, timeout: Bounded);
            var start = await WorkAsync();
            Assert.Equal("active", start.State);
            Assert.Contains(start.High, new[] { "none", "max" });

            // adopt plan measures (the slices, the RSS) and proposes a budget with headroom.
            var plan = await box.MustAsync(HostCommands.Manual.AdoptPlan([Obs()]), timeout: Bounded);
            var used = Measured().Match(plan.Stdout);
            Assert.True(used.Success, plan.Stdout);
            var use = long.Parse(used.Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.InRange(use, 300, 700);
            Assert.InRange(long.Parse(used.Groups[2].Value, CultureInfo.InvariantCulture), 300, 700);
            var proposal = Proposal().Match(plan.Stdout);
            Assert.True(proposal.Success, plan.Stdout);
            var (high, max) = (long.Parse(proposal.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(proposal.Groups[2].Value, CultureInfo.InvariantCulture));
            Assert.True(high >= use * 5 / 4 && high % 256 == 0 && max >= use * 7 / 4 && max % 256 == 0, plan.Stdout);

            // Adopted without a budget: observed. The first apply sets no limit; the work keeps running, unthrottled.
            var observed = Obs();
            Assert.Equal(MemoryLimits.Observed, observed.MemoryLimits);
            Assert.True(observed.Budget.MemoryHigh < use * M, "the scaled default is below what obs uses");
            var steps = HostSteps.Of(observed, tokenStdin: false);
            await box.MustAsync(steps.Account, timeout: Bounded);
            await box.MustAsync(steps.Code, timeout: Bounded);
            await box.MustAsync(steps.Services, timeout: Bounded);
            await Task.Delay(TimeSpan.FromSeconds(2)); // several allocations under whatever the step set
            var after = await WorkAsync();
            Assert.Equal((start.Pid, "active", "max", "max", start.HighEvents), (after.Pid, after.State, after.High, after.Max, after.HighEvents));
            // What systemd enforces on the live slice (on either cgroup version): no memory limit.
            Assert.Equal("MemoryHigh=infinity\nMemoryMax=infinity\n", (await box.MustAsync($"systemctl show -p MemoryHigh -p MemoryMax {LoginSlice} | sort")).Stdout);
            var dropin = (await box.MustAsync($"cat /etc/systemd/system/{LoginSlice}.d/50-workstation-budget.conf")).Stdout;
            Assert.Contains("MemoryAccounting=yes\n", dropin, StringComparison.Ordinal);
            Assert.DoesNotContain("MemoryHigh", dropin, StringComparison.Ordinal);
            Assert.DoesNotContain("MemoryMax", dropin, StringComparison.Ordinal);

            // A budget below the use: refused by the services step, naming both numbers; nothing throttled.
            var small = Obs(new BudgetOverride(128 * M, 192 * M, null, null));
            var refused = await box.RunAsync(HostCommands.Services(small), timeout: Bounded);
            Assert.True(refused.ExitCode == 3, refused.ToString());
            var named = Regex.Match(refused.Stderr, $@"obs's budget memory_high 128M is below what {LoginSlice} uses now, (\d+)M");
            Assert.True(named.Success, refused.Stderr);
            Assert.InRange(long.Parse(named.Groups[1].Value, CultureInfo.InvariantCulture), 300, 700);
            var kept = await WorkAsync();
            Assert.Equal((start.Pid, "active", "max", start.HighEvents), (kept.Pid, kept.State, kept.High, kept.HighEvents));
            Assert.DoesNotContain("MemoryHigh", (await box.MustAsync($"cat /etc/systemd/system/{LoginSlice}.d/50-workstation-budget.conf")).Stdout, StringComparison.Ordinal);

            // The proposed budget fits: applied in place, the work keeps running.
            var proposed = Obs(new BudgetOverride(high * M, max * M, null, null));
            Assert.Equal(MemoryLimits.Enforced, proposed.MemoryLimits);
            await box.MustAsync(HostCommands.Services(proposed), timeout: Bounded);
            var enforced = await WorkAsync();
            Assert.Equal((start.Pid, "active", (max * M).ToString(CultureInfo.InvariantCulture)), (enforced.Pid, enforced.State, enforced.Max));
            Assert.Contains(enforced.High, new[] { (high * M).ToString(CultureInfo.InvariantCulture), "max" }); // v1 has no MemoryHigh
        }
        finally
        {
            await box.RunAsync($"systemctl stop {Work}");
        }
    }
}

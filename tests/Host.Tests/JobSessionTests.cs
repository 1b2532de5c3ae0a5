
namespace Host.Tests;

/// <summary>
/// cron and at jobs count against the person's budget: the base step adds pam_systemd to
/// /etc/pam.d/cron and /etc/pam.d/atd, so a job opens a login session in the person's
/// user-UID.slice (capped by their budget, as their SSH sessions are) instead of running in
/// cron.service or atd.service, outside every slice of theirs.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class JobSessionTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(150))
{
    private static readonly TestUser Atj = new("atj", 2256, 4456, 4556);

    /// <summary>
    /// The person queues an `at now` job (atd runs it within seconds) that records its own
    /// cgroup: it ran in a session scope of user-UID.slice, which carries their budget, and not
    /// in atd.service. cron takes up to a minute to run a job, so for cron the test checks the
    /// same PAM line is in /etc/pam.d/cron (cron opens its session through it as atd does).
    /// Both files keep what they had, and another apply adds nothing.
    /// </summary>
    [Fact]
    public async Task An_at_job_runs_in_the_persons_login_session_slice_under_their_budget()
    {
        await box.OnboardAsync(Atj, Bounded, token: true);
        var slice = $"user-{Atj.Uid}.slice";
        var facts = OnboardingTests.Facts(await box.ScriptAsync($$"""
            set -euo pipefail
            rm -f {{Atj.Home}}/at-cgroup {{Atj.Home}}/at-cgroup.tmp
            cd {{Atj.Home}} && printf '%s\n' 'cat /proc/self/cgroup > ~/at-cgroup.tmp 2>/dev/null; mv ~/at-cgroup.tmp ~/at-cgroup' |
              timeout 20 runuser -u {{Atj.Name}} -- env -i HOME={{Atj.Home}} USER={{Atj.Name}} LOGNAME={{Atj.Name}} PATH=/usr/bin:/bin at now 2>/dev/null
            for _ in $(seq 1 150); do [ -s {{Atj.Home}}/at-cgroup ] && break; sleep 0.1; done
            echo "job=$(grep -E '^(0::|[0-9]+:name=systemd:)' {{Atj.Home}}/at-cgroup 2>/dev/null | head -n 1 | cut -d: -f3 || echo none)"
            echo "budget=$(systemctl show -p MemoryMax --value {{slice}})"
            echo "cron=$(grep -Ec '^session[[:space:]]+optional[[:space:]]+pam_systemd[.]so$' /etc/pam.d/cron)"
            echo "atd=$(grep -Ec '^session[[:space:]]+optional[[:space:]]+pam_systemd[.]so$' /etc/pam.d/atd)"
            echo "cron_kept=$(grep -c 'pam_loginuid.so' /etc/pam.d/cron)"
            echo "atd_kept=$(grep -c 'pam_loginuid.so' /etc/pam.d/atd)"
            """, Bounded));
        var all = string.Join(", ", facts.Select(f => $"{f.Key}={f.Value}"));
        Assert.True(facts["job"].StartsWith($"/user.slice/{slice}/session-", StringComparison.Ordinal), all);
        Assert.EndsWith(".scope", facts["job"], StringComparison.Ordinal);
        FactAssert.Equal(facts,
            ("budget", Budgets.Defaults[Tier.PowerUser].MemoryMax.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("cron", "1"),
            ("atd", "1"),
            ("cron_kept", "1"),
            ("atd_kept", "1"));

        var again = await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot), timeout: TimeSpan.FromMinutes(5));
        Assert.DoesNotContain(again.Changes(), l => l.Contains("/etc/pam.d/", StringComparison.Ordinal));
        await box.MustAsync(Atj.Suspend(), timeout: Bounded);
    }
}


namespace Host.Tests;

/// <summary>
/// Automation never cuts the admin: the program sends no delete for the admin's steps, and the
/// host refuses `user suspend` for the admin the site step named, whatever the command line says.
/// </summary>
[Collection(SandboxCollection.Name)]
public sealed class AdminTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(60))
{

    /// <summary>The site's admin (<see cref="HostWorld.Admin"/>) as the golden roster has them.</summary>
    private static readonly TestUser Wiz = new(HostWorld.Admin, 2000, 3773, 8931, "admin");

    private static readonly TestUser Zed = new("zed", 2181, 4181, 4281);

    private const string Login = """
        login() {
          ssh -n -i /root/wiz_key -p "$(awk '$1 == "Port" { print $2 }' /etc/ssh/sshd_config)" -o BatchMode=yes \
            -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 wiz@127.0.0.1 "$@"
        }
        """;

    private async Task<string> LoginAsync() =>
        OnboardingTests.Facts(await box.ScriptAsync(Login + "\n" + """echo "login=$(login id -un 2>/dev/null || echo refused)" """, Bounded))["login"];

    /// <summary>What `pulumi destroy` replays on the host for a person: their steps' deletes, services first.</summary>
    private static IReadOnlyList<string> Destroy(DerivedUser u) =>
        new[] { HostCommands.StopServices(u), HostCommands.Suspend(u) }.OfType<string>().ToList();

    [Fact]
    public async Task A_destroy_leaves_the_admin_able_to_log_in_and_the_host_refuses_to_cut_the_admin_without_force()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Wiz.Apply(), stdin: Wiz.TokenStdin);
        await box.MustAsync(Zed.Apply(), stdin: Zed.TokenStdin);
        await box.ScriptAsync(HostWorld.AuthorizeLoginKey("wiz"));
        try
        {
            Assert.Equal("wiz", await LoginAsync());

            // A destroy: every delete the program stored, for everyone. The admin's steps have none.
            Assert.Empty(Destroy(Wiz.Derived()));
            foreach (var command in Destroy(Zed.Derived())) await box.MustAsync(command, timeout: Bounded);
            Assert.Equal("wiz", await LoginAsync());
            Assert.Equal("1", (await box.MustAsync("getent shadow zed | cut -d: -f8")).Stdout.Trim()); // zed is cut: expired
            var units = await box.MustAsync("systemctl is-active t3-serve@wiz.service playwright-mcp@wiz.service | paste -sd,");
            Assert.Equal("active,active", units.Stdout.Trim());

            // The cut the program sends for anyone else, aimed at the admin (say a roster demoted them by
            // mistake in the same change): refused, exit 3, nothing changes, and the message says how to do it by hand.
            await using (await box.QuietAsync())
            {
                var before = await box.ScriptAsync(HostWorld.Snapshot);
                var refused = await box.RunAsync(TestUser.Named(HostWorld.Admin).Suspend(), timeout: Bounded);
                Assert.True(refused.ExitCode == 3, refused.ToString());
                Assert.Contains("wiz is the admin", refused.Stderr, StringComparison.Ordinal);
                Assert.Contains(HostCommands.Manual.ForceSuspend(HostWorld.Admin).Replace(HostCommands.Cli, "workstation", StringComparison.Ordinal),
                    refused.Stderr, StringComparison.Ordinal);
                await box.AssertSameAsync(before, await box.ScriptAsync(HostWorld.Snapshot), "a refused cut of the admin changed the host");
            }
            Assert.Equal("wiz", await LoginAsync());

            // By hand, with --force: it says what it does, then does it.
            var forced = await box.MustAsync(HostCommands.Manual.ForceSuspend(HostWorld.Admin), timeout: Bounded);
            Assert.Contains("suspending the admin wiz by hand (--force)", forced.Stdout, StringComparison.Ordinal);
            Assert.Equal("refused", await LoginAsync());
        }
        finally
        {
            // Back as the golden roster has them (the account step resumes a suspended account).
            await box.MustAsync(Wiz.Apply(), stdin: Wiz.TokenStdin);
            await box.MustAsync("rm -f /root/wiz_key /root/wiz_key.pub /home/wiz/.ssh/authorized_keys");
        }
        Assert.Equal("active", (await box.MustAsync("systemctl is-active t3-serve@wiz.service")).Stdout.Trim());
    }

    /// <summary>Without a site.env naming the admin, nobody can tell who the admin is: every cut then needs --force.</summary>
    [Fact]
    public async Task Without_a_site_admin_every_cut_needs_force()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(Zed.Apply(), stdin: Zed.TokenStdin);
        await box.MustAsync("mv /etc/workstation/site.env /etc/workstation/site.env.aside");
        try
        {
            var refused = await box.RunAsync(Zed.Suspend(), timeout: Bounded);
            Assert.True(refused.ExitCode == 3, refused.ToString());
            Assert.Contains("names no admin", refused.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await box.MustAsync("mv /etc/workstation/site.env.aside /etc/workstation/site.env");
        }
        await box.MustAsync(Zed.Suspend(), timeout: Bounded);
        await box.MustAsync(Zed.Apply(), stdin: Zed.TokenStdin);
    }
}


namespace Host.Tests;

/// <summary>
/// Issue 28 §4 and §1's last login: `user status` as a short table a person can read, the last
/// login from the host's own records (lastlog) in `user status` and `status`, and `workstation me`:
/// a person's own status, run over their own SSH login without sudo, that never shows another's.
/// </summary>
[Collection(SandboxCollection3.Name)]
public sealed partial class PersonStatusTests(SandboxFixture box) : BoxTests(TimeSpan.FromSeconds(90))
{
    private static readonly TimeSpan Setup = TimeSpan.FromSeconds(180);
    private static readonly TestUser Mea = new("mea", 2740, 6040, 6140);
    private static readonly TestUser Meb = new("meb", 2741, 6041, 6141);

    private static readonly string Me = HostCommands.Cli + " me";

    /// <summary>
    /// A box script's `login USER COMMAND`: an SSH login of USER's with root's key for them
    /// (<see cref="HostWorld.AuthorizeLoginKey"/>); `tty_login USER`: one with a terminal, which
    /// sshd also records in lastlog (a login without one is in the journal only).
    /// </summary>
    internal const string Login = """
        login() {
          local u="$1"
          shift
          ssh -n -i "/root/${u}_key" -p "$(awk '$1 == "Port" { print $2 }' /etc/ssh/sshd_config)" -o BatchMode=yes \
            -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 "$u@127.0.0.1" "$@"
        }
        tty_login() {
          ssh -n -tt -i "/root/${1}_key" -p "$(awk '$1 == "Port" { print $2 }' /etc/ssh/sshd_config)" -o BatchMode=yes \
            -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 "$1@127.0.0.1" true >/dev/null 2>&1
        }
        """;

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private async Task<long> BoxClockAsync() =>
        long.Parse((await box.ScriptAsync("date -u +%s")).Trim(), CultureInfo.InvariantCulture);

    private static long Seconds(string iso) =>
        DateTimeOffset.ParseExact(iso, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).ToUnixTimeSeconds();

    /// <summary>Every string and number in a JSON value, as text: what it could reveal.</summary>
    private static IEnumerable<string> Scalars(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().SelectMany(p => Scalars(p.Value).Append(p.Name)),
        JsonValueKind.Array => e.EnumerateArray().SelectMany(Scalars),
        JsonValueKind.String => [e.GetString()!],
        JsonValueKind.Number => [e.GetRawText()],
        _ => [],
    };

    /// <summary>Nothing of Meb's: no string naming them, no value that is their uid or a port of theirs.</summary>
    private static void NothingOfMebs(JsonElement me, string text)
    {
        var theirs = new[] { Meb.Uid!.Value, Meb.T3Port, Meb.PlaywrightPort }.Select(n => n.ToString(CultureInfo.InvariantCulture)).ToHashSet();
        var leaked = Scalars(me).Where(s => s.Contains(Meb.Name, StringComparison.Ordinal) || theirs.Contains(s)).ToList();
        Assert.True(leaked.Count == 0, $"`me` shows {string.Join(", ", leaked)} of {Meb.Name}:\n{me}");
        Assert.DoesNotContain(Meb.Name, text, StringComparison.Ordinal);
        Assert.DoesNotMatch(TheirNumbers(), text);
    }

    [GeneratedRegex(@"\b(2741|6041|6141)\b")]
    private static partial Regex TheirNumbers();

    [Fact]
    public async Task A_person_runs_me_without_sudo_and_sees_their_own_status_and_nothing_of_another_persons()
    {
        await box.OnboardAsync(Mea, Setup, token: true);
        await box.MustAsync(Meb.Apply(), stdin: Meb.TokenStdin, timeout: Setup);
        await box.ScriptAsync(HostWorld.AuthorizeLoginKey(Mea.Name));
        await box.ScriptAsync(HostWorld.AuthorizeLoginKey(Meb.Name));

        var before = await BoxClockAsync();
        var facts = OnboardingTests.Facts(await box.ScriptAsync(Login + $$"""

            set -u
            tty_login mea; echo "tty_rc=$?"
            echo "tty_done=$(date -u +%s)"
            login mea '{{Me}} --json' >/tmp/me.json 2>/tmp/me.err; echo "json_rc=$?"
            login mea '{{Me}}' >/tmp/me.txt 2>&1; echo "text_rc=$?"
            # Another person named every way the caller controls: the environment, HOME, an argument.
            login mea 'USER=meb LOGNAME=meb HOME=/home/meb SUDO_USER=meb {{Me}} --json' >/tmp/me-env.json 2>&1; echo "env_rc=$?"
            login mea '{{Me}} meb' >/tmp/me-arg.out 2>/tmp/me-arg.err; echo "arg_rc=$?"
            login mea '{{Me}} --json meb' >/tmp/me-arg2.out 2>/dev/null; echo "arg2_rc=$?"
            echo "arg_out=$(cat /tmp/me-arg.out /tmp/me-arg2.out | wc -c)"
            echo "arg_err=$(tr '\n' ' ' </tmp/me-arg.err)"
            # Root's verb stays root's.
            login mea '{{HostCommands.Manual.Status(Meb.Name)}}' >/tmp/me-root.out 2>&1; echo "root_rc=$?"
            """, Bounded));
        Assert.Equal("0", facts["tty_rc"]);
        var after = long.Parse(facts["tty_done"], CultureInfo.InvariantCulture);
        Assert.True(facts["json_rc"] == "0", await box.ScriptAsync("cat /tmp/me.err"));
        FactAssert.Equal(facts,
            ("text_rc", "0"),
            ("env_rc", "0"));
        Assert.Equal(("2", "2", "0"), (facts["arg_rc"], facts["arg2_rc"], facts["arg_out"]));
        Assert.Contains("unknown argument meb (usage: workstation me [--json])", facts["arg_err"], StringComparison.Ordinal);
        Assert.NotEqual("0", facts["root_rc"]);

        var me = Json(await box.ScriptAsync("cat /tmp/me.json"));
        var text = await box.ScriptAsync("cat /tmp/me.txt");
        Assert.Equal(("mea", "active", "power-user", 2740), (me.GetProperty("user").GetString(), me.GetProperty("state").GetString(),
            me.GetProperty("tier").GetString(), me.GetProperty("uid").GetInt32()));
        Assert.Equal((6040, 6140), (me.GetProperty("ports").GetProperty("t3").GetInt32(), me.GetProperty("ports").GetProperty("playwright").GetInt32()));
        Assert.Equal(["playwright-mcp@mea.service", "playwright-snapshot-refresh@mea.timer", "t3-serve@mea.service"],
            me.GetProperty("units").EnumerateArray().Select(u => u.GetProperty("unit").GetString()!).Order(StringComparer.Ordinal));
        Assert.Contains("snapshot-token", me.GetProperty("secrets").EnumerateArray().Select(s => s.GetString()));
        // Facts only root may read are null, and the table says so; no cut probes for an active person.
        Assert.Equal(JsonValueKind.Null, me.GetProperty("restart_pending").ValueKind);
        Assert.Equal(JsonValueKind.Null, me.GetProperty("cut").ValueKind);
        Assert.Contains("  restart pending: not readable as you", text, StringComparison.Ordinal);
        Assert.DoesNotContain("  cut:", text, StringComparison.Ordinal);
        // What a person reads of their logins is lastlog: the last login with a terminal (the
        // journal's lines of the logins without one, that ran `me`, are root's).
        var login = me.GetProperty("last_login").GetString()!;
        Assert.InRange(Seconds(login), before, after);
        Assert.StartsWith($"mea: active, tier power-user\n  last login: {login}\n  t3 port: 6040", text, StringComparison.Ordinal);
        Assert.Contains("\n  secrets: snapshot-token\n", text, StringComparison.Ordinal);
        NothingOfMebs(me, text);

        // The crafted environment changed nothing: the same person, ports and units.
        var env = Json(await box.ScriptAsync("cat /tmp/me-env.json"));
        foreach (var key in new[] { "user", "uid", "home", "ports", "units", "secrets" })
            Assert.Equal(me.GetProperty(key).GetRawText(), env.GetProperty(key).GetRawText());
        NothingOfMebs(env, "");
    }

    [Fact]
    public async Task User_status_shows_each_persons_last_ssh_login_from_sshds_own_records_and_reads_as_a_table_without_cut_probes_while_active()
    {
        await box.OnboardAsync(Mea, Setup, token: true);
        await box.MustAsync(Meb.Apply(tokenStdin: false), timeout: Setup);
        await box.ScriptAsync(HostWorld.AuthorizeLoginKey(Mea.Name));
        // Meb's lastlog record cleared: as useradd leaves it for an account that never logged in.
        await box.ScriptAsync("lastlog -C -u meb");

        // Two logins of mea's without a terminal (in the journal only), in the second of which mea
        // forges meb's: anyone may log a line that names sshd, and only sshd's own count.
        var before = await BoxClockAsync();
        await box.ScriptAsync(Login + "\n" + $$"""
            login mea true
            login mea "logger -t sshd 'pam_unix(sshd:session): session opened for user meb(uid={{Meb.Uid}}) by (uid=0)'"
            """, Bounded);
        var after = await BoxClockAsync();

        var mea = Json((await box.MustAsync(Mea.Status())).Stdout);
        var login = mea.GetProperty("last_login").GetString()!;
        Assert.InRange(Seconds(login), before, after);
        Assert.Equal(JsonValueKind.Null, Json((await box.MustAsync(Meb.Status())).Stdout).GetProperty("last_login").ValueKind);
        var all = Json((await box.MustAsync(HostCommands.Manual.StatusAll)).Stdout).GetProperty("people").EnumerateArray()
            .ToDictionary(p => p.GetProperty("user").GetString()!, p => p.GetProperty("last_login"));
        Assert.Equal(login, all["mea"].GetString());
        Assert.Equal(JsonValueKind.Null, all["meb"].ValueKind);

        var text = (await box.MustAsync(HostCommands.Manual.Status(Mea.Name).Replace(" --json", "", StringComparison.Ordinal))).Stdout;
        Assert.StartsWith($"mea: active, tier power-user\n  last login: {login}\n  t3 port: 6040", text, StringComparison.Ordinal);
        foreach (var line in new[] { "  unit playwright-mcp@mea.service: enabled, active", "  secrets: snapshot-token", "  firewall: guarded", "  drift: none" })
            Assert.Contains("\n" + line + "\n", text, StringComparison.Ordinal);
        Assert.Matches(@"\n  memory \(services\): [0-9.]+ [KMG]iB in use; high ", text);
        Assert.DoesNotContain("\n  cut", text, StringComparison.Ordinal);
        Assert.StartsWith("meb: active, tier power-user\n  last login: none recorded\n",
            (await box.MustAsync(HostCommands.Manual.Status(Meb.Name).Replace(" --json", "", StringComparison.Ordinal))).Stdout, StringComparison.Ordinal);
    }
}

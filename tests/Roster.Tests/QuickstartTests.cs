namespace Workstation.Roster.Tests;

/// <summary>
/// scripts/quickstart.sh, the README's quick start, against a stand-in `pulumi` that enforces
/// Pulumi's config rule (the keys <see cref="PulumiConfigModel"/> finds missing from the committed
/// Pulumi.sandbox.yaml must each be set before `up`) and a stand-in for scripts/sandbox.sh, so no
/// box boots: it sets every required key, deploys, and a second run changes nothing.
/// </summary>
public sealed class QuickstartTests : IDisposable
{
    private const string KeyMark = "quick-K3y-5e7b";
    private const string HostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIQuickHostKey";
    private readonly StandIns _stand = new();
    private readonly Dictionary<string, string?> _env;
    private readonly string _home;
    private readonly IReadOnlyList<string> _required;

    public QuickstartTests()
    {
        _stand.AddPulumi();
        _stand.Add("sandbox", """
            case "${1:-}" in
              status) if [[ -e "$WS_STATE/box" ]]; then echo running; else echo stopped; exit 3; fi ;;
              up) [[ -z "${WS_SANDBOX_FAIL:-}" ]] || { echo "sandbox: not ready within 90s" >&2; exit 1; }
                  touch "$WS_STATE/box"; echo "SANDBOX_SSH_HOST=127.0.0.1" ;;
              env) printf "SANDBOX_SSH_HOST=127.0.0.1\nSANDBOX_SSH_PORT=2231\nSANDBOX_SSH_USER=root\nSANDBOX_SSH_KEY='%s'\nSANDBOX_HOST_KEY='%s'\n" \
                     "$WS_STATE/id_ed25519" "$WS_HOST_KEY" ;;
              *) exit 1 ;;
            esac
            """);
        File.WriteAllText(Path.Combine(_stand.State, "id_ed25519"), $"-----BEGIN OPENSSH PRIVATE KEY-----\n{KeyMark}\n-----END OPENSSH PRIVATE KEY-----\n");
        // The config rule: what the committed sandbox stack leaves missing, per Pulumi's mergeConfig.
        var (project, errors) = PulumiConfigModel.LoadProject(File.ReadAllText(Path.Combine(TestFiles.Root, "Pulumi.yaml")));
        Assert.Empty(errors);
        _required = PulumiConfigModel.Merge("sandbox", project, PulumiConfigModel.LoadStack(File.ReadAllText(Path.Combine(TestFiles.Root, "Pulumi.sandbox.yaml")))).Missing;
        Assert.NotEmpty(_required);
        File.WriteAllLines(Path.Combine(_stand.State, "required-sandbox"), _required);

        _home = Path.Combine(_stand.Dir, "quickstart-home");
        _env = _stand.Environment();
        StandIns.ClearInherited(_env);
        _env["WS_PULUMI_VERSION"] = Pinned();
        _env["WS_HOST_KEY"] = HostKey;
        _env["WORKSTATION_SANDBOX_SCRIPT"] = Path.Combine(_stand.Bin, "sandbox");
        _env["WORKSTATION_QUICKSTART_HOME"] = _home;
    }

    public void Dispose() => _stand.Dispose();

    private static string Pinned() =>
        System.Text.RegularExpressions.Regex.Match(File.ReadAllText(Path.Combine(TestFiles.Root, ".ci", "versions")), "^PULUMI_CLI_VERSION=([0-9.]+)$",
            System.Text.RegularExpressions.RegexOptions.Multiline).Groups[1].Value;

    private (int Code, string Log, string Out) Quickstart(string? script = null)
    {
        var r = Processes.Run("bash", [script ?? Path.Combine(TestFiles.Root, "scripts", "quickstart.sh")], _env, seconds: 60);
        return (r.Code, r.Out + r.Err, r.Out);
    }

    private List<string> Calls(string program) =>
        _stand.Recorded().Where(c => c[0] == program).Select(c => string.Join(' ', c.Skip(1))).ToList();

    private string Set(string key) => File.ReadAllText(Path.Combine(_stand.State, $"set-sandbox-{key}"));

    [Fact]
    public void One_command_boots_the_box_sets_every_required_key_and_deploys_and_a_second_run_changes_nothing()
    {
        var first = Quickstart();
        Assert.True(first.Code == 0, first.Log);
        Assert.Equal(["status", "up", "env"], Calls("sandbox"));
        var pulumi = Calls("pulumi").Where(c => c != "version").ToList();
        Assert.Equal("stack select --create --stack sandbox", pulumi.First(c => c.StartsWith("stack select --create", StringComparison.Ordinal)));
        Assert.Equal(["install", "up --stack sandbox --yes --non-interactive"], pulumi.TakeLast(2));
        Assert.Equal(["result", "changes"], _stand.Recorded().Single(c => c[0] == "result"));

        // Every key Pulumi requires was set, the secret ones as secrets; the key came on stdin.
        foreach (var key in _required)
            Assert.StartsWith(ProjectConfig.Find(key)!.Secret ? "yes\t" : "no\t", Set(key), StringComparison.Ordinal);
        Assert.Contains(KeyMark, File.ReadAllText(Path.Combine(_stand.State, "stdin-sshPrivateKey")), StringComparison.Ordinal);
        Assert.DoesNotContain(KeyMark, File.ReadAllText(_stand.Calls) + first.Log, StringComparison.Ordinal);
        Assert.Contains($"config set --stack sandbox sshHostKey {HostKey}", Calls("pulumi"));
        Assert.Contains("config set --stack sandbox sshPort 2231", Calls("pulumi"));

        // A local backend and a 0600 passphrase file outside the repo, handed to pulumi in its environment.
        var passphrase = Path.Combine(_home, "passphrase");
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(passphrase));
        var env = _stand.Recorded().Single(c => c[0] == "env");
        Assert.Equal([$"backend=file://{_home}/state", "passphrase=unset", $"passphrase_file={passphrase}"], env.Skip(1));
        var secret = File.ReadAllText(passphrase);
        Assert.DoesNotContain(secret.Trim(), File.ReadAllText(_stand.Calls) + first.Log, StringComparison.Ordinal);

        // Its last lines: how to log in as a person, and how to throw the box away.
        var tail = first.Out.TrimEnd().Split('\n').TakeLast(4).ToList();
        Assert.Contains(tail, l => l.Contains("Log in to it as a person:  scripts/sandbox.sh ssh   then   su - wiz", StringComparison.Ordinal));
        Assert.Contains(tail, l => l.Contains("Throw it away:             scripts/sandbox.sh down", StringComparison.Ordinal));

        File.WriteAllText(_stand.Calls, "");
        var second = Quickstart();
        Assert.True(second.Code == 0, second.Log);
        Assert.Equal(["status", "env"], Calls("sandbox")); // no second boot
        Assert.Equal(["result", "no-op"], _stand.Recorded().Single(c => c[0] == "result"));
        Assert.Equal(secret, File.ReadAllText(passphrase));
    }

    [Theory]
    [InlineData("pulumi config set --stack sandbox --secret backupPassword </dev/null", "backupPassword")]
    // sshHostKey has a default since hosts: may replace it (issue 27): without it the program refuses, not Pulumi.
    [InlineData("pulumi config set --stack sandbox --secret sshPrivateKey <\"${box[SANDBOX_SSH_KEY]}\"", "sshPrivateKey")]
    public void A_required_key_left_unset_stops_up_with_pulumis_missing_configuration_error(string line, string key)
    {
        // A copy of the script without that line, beside the files it reads.
        var root = Path.Combine(_stand.Dir, "copy");
        Directory.CreateDirectory(Path.Combine(root, "scripts"));
        Directory.CreateDirectory(Path.Combine(root, ".ci"));
        File.Copy(Path.Combine(TestFiles.Root, ".ci", "versions"), Path.Combine(root, ".ci", "versions"));
        File.Copy(TestFiles.ShippedRoster, Path.Combine(root, "roster.yaml"));
        var text = File.ReadAllText(Path.Combine(TestFiles.Root, "scripts", "quickstart.sh"));
        Assert.Contains("  " + line + "\n", text, StringComparison.Ordinal);
        var script = Path.Combine(root, "scripts", "quickstart.sh");
        File.WriteAllText(script, text.Replace("  " + line + "\n", "", StringComparison.Ordinal));

        var run = Quickstart(script);
        Assert.NotEqual(0, run.Code);
        Assert.Contains($"Stack 'sandbox' is missing configuration value(s) {key}", run.Log, StringComparison.Ordinal);
        Assert.DoesNotContain(_stand.Recorded(), c => c[0] == "result");
    }

    [Fact]
    public void An_older_or_missing_pulumi_cli_is_refused_naming_the_install_command()
    {
        var install = $"curl -fsSL https://get.pulumi.com | sh -s -- --version {Pinned()}";
        _env["WS_PULUMI_VERSION"] = "3.186.0";
        var old = Quickstart();
        Assert.Equal(1, old.Code);
        Assert.Contains($"quickstart: Pulumi CLI 3.186.0 is older than {Pinned()}, which this project needs (.ci/versions); install it with: {install}", old.Log, StringComparison.Ordinal);

        File.Delete(Path.Combine(_stand.Bin, "pulumi"));
        _env["PATH"] = _stand.Bin + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        var missing = Quickstart();
        Assert.Equal(1, missing.Code);
        Assert.Contains($"quickstart: the Pulumi CLI is missing; install {Pinned()} with: {install}", missing.Log, StringComparison.Ordinal);
        Assert.Empty(Calls("sandbox"));
    }

    [Fact]
    public void A_box_that_does_not_boot_stops_it_before_any_stack_or_config()
    {
        _env["WS_SANDBOX_FAIL"] = "1";
        var run = Quickstart();
        Assert.Equal(1, run.Code);
        Assert.Contains("sandbox: not ready within 90s", run.Log, StringComparison.Ordinal);
        Assert.Contains("up' failed", run.Log, StringComparison.Ordinal);
        Assert.Equal(["status", "up"], Calls("sandbox"));
        Assert.DoesNotContain(Calls("pulumi"), c => c.StartsWith("stack", StringComparison.Ordinal) || c.StartsWith("config", StringComparison.Ordinal));
    }

    [Fact]
    public void A_box_booted_afresh_gets_fresh_stack_state_not_the_gone_boxs()
    {
        Assert.Equal(0, Quickstart().Code);
        File.Delete(Path.Combine(_stand.State, "box")); // the box went down (scripts/sandbox.sh down)
        File.WriteAllText(_stand.Calls, "");
        var again = Quickstart();
        Assert.True(again.Code == 0, again.Log);
        Assert.Equal(["status", "up", "env"], Calls("sandbox"));
        Assert.Contains("stack rm --yes --force --preserve-config --stack sandbox", Calls("pulumi"));
        Assert.Equal(["result", "changes"], _stand.Recorded().Single(c => c[0] == "result"));
    }

    [Fact]
    public void Its_state_folder_inside_the_repo_is_refused()
    {
        _env["WORKSTATION_QUICKSTART_HOME"] = Path.Combine(TestFiles.Root, ".pulumi", "quickstart-test");
        try
        {
            var run = Quickstart();
            Assert.Equal(1, run.Code);
            Assert.Contains("must be outside the repo", run.Log, StringComparison.Ordinal);
            Assert.Empty(Calls("sandbox"));
            Assert.False(Directory.Exists(_env["WORKSTATION_QUICKSTART_HOME"]), "the refused folder was made anyway");
        }
        finally
        {
            // Nothing may have been made there; clean up only in case the script did.
            if (Directory.Exists(_env["WORKSTATION_QUICKSTART_HOME"])) Directory.Delete(_env["WORKSTATION_QUICKSTART_HOME"]!, recursive: true);
        }
    }
}

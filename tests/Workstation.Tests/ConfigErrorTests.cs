namespace Workstation.Tests;

/// <summary>Bad config or a bad roster stop the run with a message naming the key or file:line:col, before any resource.</summary>
public class ConfigErrorTests
{
    private static IReadOnlyList<string> Errors(IStackConfig config)
    {
        var (settings, errors) = StackSettings.Load(config);
        Assert.Null(settings);
        return errors.Select(e => e.ToString()).ToList();
    }

    [Fact]
    public void The_fixture_config_is_valid()
    {
        var (settings, errors) = StackSettings.Load(Fixture.Config());
        Assert.Empty(errors);
        Assert.Equal(2222, settings!.Ssh.Port);
        Assert.Equal("roster.yaml", settings.RosterPath);
    }

    /// <summary>Issue 25 §5: a restic repository URL with credentials is refused, restic's rest:https:// included (the host's backup apply agrees).</summary>
    [Theory]
    [InlineData("rest:https://u:pw@backup.example.test/r")]
    [InlineData("rest:https://token@backup.example.test/r")]
    public void A_backup_repository_carrying_credentials_is_refused(string repository)
    {
        var error = Assert.Single(Errors(Fixture.Config().With(ConfigKeys.BackupRepository, repository).With(ConfigKeys.BackupPassword, "pw")));
        Assert.StartsWith("workstation:backupRepository: must not carry credentials", error, StringComparison.Ordinal);
        Assert.DoesNotContain(repository, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_host_key_is_an_error_not_a_silent_accept_anything()
    {
        var error = Assert.Single(Errors(Fixture.Config().With(ConfigKeys.SshHostKey, null)));
        Assert.StartsWith("workstation:sshHostKey: required:", error, StringComparison.Ordinal);
        Assert.Contains("ssh-keyscan", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ConfigKeys.SshHostKey, "AAAAC3NzaC1lZDI1NTE5", "workstation:sshHostKey: must be one public key line")]
    [InlineData(ConfigKeys.SshPort, "22x", "workstation:sshPort: '22x' is not a TCP port")]
    [InlineData(ConfigKeys.SshUser, "Root User", "workstation:sshUser: 'Root User' is not a valid user name")]
    [InlineData(ConfigKeys.EdgeUser, "t3 edge", "workstation:edgeUser: 't3 edge' is not a valid account name")]
    [InlineData(ConfigKeys.SwapSize, "8GB", "workstation:swapSize: '8GB' is not a swap size like 8G or 512M")]
    [InlineData(ConfigKeys.ConfigBaseUrl, "https://user:pw@git.example.test/c.git", "workstation:configBaseUrl: must not carry credentials")]
    [InlineData(ConfigKeys.ConfigBaseHooks, "yes", "workstation:configBaseHooks: 'yes' is not true or false")]
    // Read after the check before issue 26 §7, so taken as on without a word.
    [InlineData(ConfigKeys.PinnedTools, "maybe", "workstation:pinnedTools: 'maybe' is not true or false")]
    [InlineData(ConfigKeys.OwnLauncher, "maybe", "workstation:ownLauncher: 'maybe' is not true or false")]
    [InlineData(ConfigKeys.ClaudeCodePolicy, "latest", "workstation:claudeCodePolicy: 'latest' is not pinned or if-missing")]
    [InlineData(ConfigKeys.NodeExporter, "0.0.0.0", "workstation:nodeExporter: '0.0.0.0' is not loopback, off, or a listen address ADDRESS:PORT (IPv4, e.g. 10.0.0.5:9100)")]
    [InlineData(ConfigKeys.NodeExporter, "10.0.0.5:70000", "workstation:nodeExporter: '10.0.0.5:70000' is not loopback, off, or a listen address ADDRESS:PORT (IPv4, e.g. 10.0.0.5:9100)")]
    [InlineData(ConfigKeys.Swappiness, "201", "workstation:swappiness: '201' is not a swappiness (0-200)")]
    [InlineData(ConfigKeys.ToolsMirror, "srv/tools", "workstation:toolsMirror: 'srv/tools' is not an http(s) URL or an absolute folder on the devvm")]
    [InlineData(ConfigKeys.HostMemory, "24 GB", "workstation:hostMemory: '24 GB' is not a size: a whole number of bytes, or with K, M, G or T (powers of 1024), e.g. 4G")]
    [InlineData(ConfigKeys.CapacityWarnPercent, "0", "workstation:capacityWarnPercent: '0' is not a percentage (1-100)")]
    [InlineData(ConfigKeys.SnapshotUrl, "chrome.example.test/state", "workstation:snapshotUrl: 'chrome.example.test/state' is not an absolute http(s) URL")]
    [InlineData(ConfigKeys.VaultAddr, "vault.example.test", "workstation:vaultAddr: 'vault.example.test' is not an absolute http(s) URL")]
    [InlineData(ConfigKeys.SshPrivateKey, null, "workstation:sshPrivateKey: required:")]
    [InlineData(ConfigKeys.RepoUrl, null, "workstation:repoUrl: required:")]
    [InlineData(ConfigKeys.T3Command, "a\nb", "workstation:t3Command: must be one line")]
    [InlineData(ConfigKeys.AuthentikUrl, null, "workstation:authentikUrl: required:")]
    [InlineData(ConfigKeys.AuthentikUrl, "auth.example.test", "workstation:authentikUrl: 'auth.example.test' is not an absolute http(s) URL")]
    [InlineData(ConfigKeys.AuthentikToken, null, "workstation:authentikToken: required: an Authentik API token, as a secret")]
    [InlineData(ConfigKeys.AuthentikToken, "", "workstation:authentikToken: required:")]
    [InlineData(ConfigKeys.AuthentikT3AppSlug, null, "workstation:authentikT3AppSlug: required:")]
    [InlineData(ConfigKeys.AuthentikT3AppSlug, "t3 app", "workstation:authentikT3AppSlug: 't3 app' is not an Authentik application slug")]
    [InlineData(ConfigKeys.KubeContext, "a b", "workstation:kubeContext: 'a b' is not a kubeconfig context name")]
    // §7: sub can't name an alias (the roster doesn't hold Authentik's hashed id); a typo is named too.
    [InlineData(ConfigKeys.VaultOidcUserClaim, "sub", "workstation:vaultOidcUserClaim: is sub, Authentik's hashed per-user id, which the roster doesn't hold")]
    [InlineData(ConfigKeys.VaultOidcUserClaim, "mail", "workstation:vaultOidcUserClaim: 'mail' is not preferred_username, email or sub")]
    [InlineData(ConfigKeys.VaultKvMount, "sys", "workstation:vaultKvMount: the KV mount can't be under sys/")]
    [InlineData(ConfigKeys.VaultKvMount, "../secret", "workstation:vaultKvMount: '../secret' is not a plain Vault mount path")]
    [InlineData(ConfigKeys.VaultUsersPath, "users/*", "workstation:vaultUsersPath: 'users/*' is not a plain Vault path")]
    [InlineData(ConfigKeys.VaultOidcMount, "oidc/", "workstation:vaultOidcMount: 'oidc/' is not a plain Vault auth mount path")]
    [InlineData(ConfigKeys.VaultOidcMountAccessor, "auth oidc", "workstation:vaultOidcMountAccessor: 'auth oidc' is not a Vault mount accessor")]
    [InlineData(ConfigKeys.RestartIdleMinutes, "1441", "workstation:restartIdleMinutes: '1441' is not a number of minutes (0-1440)")]
    [InlineData(ConfigKeys.RestartIdleMinutes, "20m", "workstation:restartIdleMinutes: '20m' is not a number of minutes (0-1440)")]
    [InlineData(ConfigKeys.SnapshotToken, "a-token", "workstation:snapshotToken: is no longer read: the snapshot token comes from Vault. Name its field with `pulumi config set --path 'vaultSecrets[\"snapshot-token\"]' PATH#FIELD`")]
    [InlineData(ConfigKeys.VaultSecrets, "{\"ha-url\": \"openclaw\", \"memory-key\": \"o#k\"}", "workstation:vaultSecrets[\"ha-url\"]: is not PATH#FIELD")]
    [InlineData(ConfigKeys.VaultSecrets, "{\"ha_url\": \"openclaw#x\", \"memory-key\": \"o#k\"}", "workstation:vaultSecrets[\"ha_url\"]: is not a shared secret: known are beads-key, claude-credentials, ha-url, memory-key, repo-token, snapshot-token")]
    [InlineData(ConfigKeys.Rotate, "{\"snapshot-token\": -1}", "workstation:rotate[\"snapshot-token\"]: is not a rotation serial (a whole number, 0-999999)")]
    [InlineData(ConfigKeys.Rotate, "{\"snapshot-token\": \"2\"}", "workstation:rotate[\"snapshot-token\"]: is not a rotation serial")]
    [InlineData(ConfigKeys.MemoryMcpUrl, null, "workstation:memoryMcpUrl: required: the claude_memory MCP server's URL")]
    [InlineData(ConfigKeys.MemoryMcpUrl, "https://tok@memory.example.test/mcp", "workstation:memoryMcpUrl: must not carry credentials")]
    [InlineData(ConfigKeys.T3Package, "t3@latest", "workstation:t3Package: 't3@latest' is not an npm package pinned to one version, NAME@X.Y.Z (never @latest, a tag or a range)")]
    [InlineData(ConfigKeys.T3Package, "t3@~1.4.0", "workstation:t3Package: 't3@~1.4.0' is not an npm package pinned to one version")]
    [InlineData(ConfigKeys.TakeOver, "\"/etc/skel/.zshrc\"", "workstation:takeOver: is not a list of paths")]
    [InlineData(ConfigKeys.TakeOver, "[\"/etc/passwd\"]", "workstation:takeOver[0]: '/etc/passwd' is not a file Workstation writes: one of /etc/claude-code/managed-settings.json,")]
    [InlineData(ConfigKeys.TakeOver, "[\"/etc/skel/.zshrc\", \"/etc/skel/.zshrc\"]", "workstation:takeOver[1]: '/etc/skel/.zshrc' is listed twice")]
    [InlineData(ConfigKeys.TakeOver, "[\"/etc/systemd/system/../shadow\"]", "workstation:takeOver[0]: '/etc/systemd/system/../shadow' is not a file Workstation writes")]
    public void Each_bad_key_is_named(string key, string? value, string expected)
    {
        var error = Assert.Single(Errors(Fixture.Config().With(key, value)));
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_launcher_another_deployer_owns_cannot_be_taken_over()
    {
        var error = Assert.Single(Errors(Fixture.Config().With(ConfigKeys.OwnLauncher, "false").With(ConfigKeys.TakeOver, "[\"/etc/skel/start-claude.sh\"]")));
        Assert.Equal("workstation:takeOver[0]: '/etc/skel/start-claude.sh' is the launcher, which ownLauncher: false leaves to another deployer", error);
    }

    [Fact]
    public void The_node_exporter_drop_in_cannot_be_taken_over_while_node_exporter_is_off()
    {
        var error = Assert.Single(Errors(Fixture.Config().With(ConfigKeys.NodeExporter, "off").With(ConfigKeys.TakeOver, $"[\"{Workstation.Roster.SharedFiles.NodeExporterDropIn}\"]")));
        Assert.Equal($"workstation:takeOver: '{Workstation.Roster.SharedFiles.NodeExporterDropIn}' is node_exporter's drop-in, which nodeExporter: off leaves alone", error);
    }

    [Fact]
    public void Secrets_need_vault_and_the_memory_url_needs_the_memory_key()
    {
        var noVault = Errors(Fixture.Config().With(ConfigKeys.EnableVault, "false").With(ConfigKeys.VaultToken, null));
        Assert.Contains(noVault, e => e.StartsWith("workstation:vaultSecrets: needs Vault: the secrets are read from it", StringComparison.Ordinal));
        var urlAlone = Errors(Fixture.Config().With(ConfigKeys.VaultSecrets, "{\"ha-url\": \"openclaw#ha_sofia_mcp_url\"}"));
        Assert.Equal(["workstation:memoryMcpUrl: is set, but workstation:vaultSecrets names no memory-key: the server would have no key"], urlAlone);
        var notAMap = Errors(Fixture.Config().With(ConfigKeys.VaultSecrets, "openclaw#x").With(ConfigKeys.MemoryMcpUrl, null));
        Assert.Equal(["workstation:vaultSecrets: is not an object of secret names (set its entries with `pulumi config set --path`)"], notAMap);
    }

    [Fact]
    public void Optional_identity_keys_fall_back_to_the_environment_and_the_defaults()
    {
        var config = Fixture.Config()
            .With(ConfigKeys.Kubeconfig, "").With(ConfigKeys.KubeContext, null)
            .With(ConfigKeys.VaultToken, "").With(ConfigKeys.VaultOidcMountAccessor, "");
        var (settings, errors) = StackSettings.Load(config);
        Assert.Empty(errors);
        // '' or unset: the providers read KUBECONFIG / VAULT_TOKEN themselves; the stack stores no credential.
        Assert.Null(settings!.K8s!.Kubeconfig);
        Assert.Null(settings.K8s!.Context);
        Assert.Null(settings.Vault!.Token);
        Assert.Null(settings.Vault!.OidcMountAccessor);
        Assert.Equal(Workstation.Roster.Access.VaultOptions.Default, settings.Vault.Options);
        Assert.Equal("https://vault.example.test", settings.Vault.Address);
    }

    [Theory]
    [InlineData(ConfigKeys.RepoUrl, "https://oauth2:glpat-SECRET@git.example.test/team/code.git")]
    [InlineData(ConfigKeys.RepoUrl, "https://ghp_SECRET@github.com/team/code.git")]
    [InlineData(ConfigKeys.RepoUrl, "ssh://git:SECRET@git.example.test/team/code.git")]
    [InlineData(ConfigKeys.OidcIssuer, "https://admin:SECRET@auth.example.test/application/o/kubernetes/")]
    [InlineData(ConfigKeys.ClusterServer, "https://SECRET@k8s.example.test:6443")]
    [InlineData(ConfigKeys.VaultAddr, "https://root:SECRET@vault.example.test")]
    public void A_site_value_with_credentials_is_refused_without_echoing_them(string key, string value)
    {
        var error = Assert.Single(Errors(Fixture.Config().With(key, value)));
        Assert.StartsWith($"workstation:{key}: must not carry credentials", error, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("git@github.com:team/code.git")]
    [InlineData("ssh://git@git.example.test/team/code.git")]
    [InlineData("https://git.example.test/team/code.git")]
    public void Ordinary_git_urls_pass(string url)
    {
        var (settings, errors) = StackSettings.Load(Fixture.Config().With(ConfigKeys.RepoUrl, url));
        Assert.Empty(errors);
        Assert.Equal(url, settings!.Site.RepoUrl);
    }

    [Fact]
    public void A_secret_is_never_echoed_in_a_config_error()
    {
        // Secrets aren't pattern-checked at all: nothing about their value can end up in a message.
        var (settings, errors) = StackSettings.Load(Fixture.Config().With(ConfigKeys.Kubeconfig, "not yaml at all \u0001").With(ConfigKeys.AuthentikT3AppSlug, "bad slug"));
        Assert.Null(settings);
        Assert.DoesNotContain(errors, e => e.ToString().Contains("not yaml", StringComparison.Ordinal));
    }

    [Fact]
    public void All_problems_are_reported_at_once()
    {
        var config = Fixture.Config().With(ConfigKeys.SshHost, null).With(ConfigKeys.SshHostKey, null).With(ConfigKeys.OidcIssuer, null);
        Assert.Equal(
            ["workstation:oidcIssuer", "workstation:sshHost", "workstation:sshHostKey"],
            Errors(config).Select(e => e[..e.IndexOf(": ", StringComparison.Ordinal)]).Order(StringComparer.Ordinal));
    }

    /// <summary>Runs the whole program; returns the error message and how many resources reached the engine.</summary>
    private static async Task<(string Message, int Registered)> FailingRun(IStackConfig config, string projectDir)
    {
        var (mock, seen) = Harness.Mocks();
        var e = await Assert.ThrowsAnyAsync<Exception>(() =>
            Deployment.TestAsync(mock.Object, Harness.Options, () => WorkstationProgram.Run(config, projectDir)));
        return (e.Message, seen.Count);
    }

    [Fact]
    public async Task A_config_error_stops_the_program_before_any_resource()
    {
        var (message, registered) = await FailingRun(Fixture.Config().With(ConfigKeys.SshHostKey, null), Repo.Root);
        Assert.Contains("invalid stack configuration", message, StringComparison.Ordinal);
        Assert.Contains("workstation:sshHostKey: required", message, StringComparison.Ordinal);
        Assert.Equal(0, registered);
    }

    [Fact]
    public async Task A_roster_over_capacity_stops_the_program_before_any_resource()
    {
        using var dir = new TempHostDir();
        File.Copy(Repo.Golden("roster.yaml"), System.IO.Path.Combine(dir.Path, "roster.yaml"));
        // The golden people promise 10G + 3G + 2G = 15G; 12G + 4G swap - 2G reserve = 14G.
        var config = Fixture.Config().With(ConfigKeys.HostMemory, "12G").With(ConfigKeys.SwapSize, "4G");
        var (message, registered) = await FailingRun(config, dir.Path);
        Assert.Contains("roster over capacity", message, StringComparison.Ordinal);
        Assert.Contains("add up to 15G, above the host's limit of 14G (hostMemory 12G + swapSize 4G - memoryReserve 2G); largest: wiz 10G, alice 3G, bob 2G.",
            message, StringComparison.Ordinal);
        Assert.Equal(0, registered);
    }

    [Fact]
    public async Task A_missing_roster_is_named()
    {
        using var dir = new TempHostDir();
        var (message, registered) = await FailingRun(Fixture.Config().With(ConfigKeys.Roster, "nowhere.yaml"), dir.Path);
        Assert.Contains("nowhere.yaml:1:1: (file): roster file not found", message, StringComparison.Ordinal);
        Assert.Equal(0, registered);
    }

    [Fact]
    public async Task A_bad_roster_names_the_first_error_by_file_line_and_column()
    {
        using var dir = new TempHostDir();
        var lines = Fixture.RosterText.Split('\n');
        var line = Array.FindIndex(lines, l => l.Trim() == "tier: power-user");
        lines[line] = lines[line].Replace("power-user", "wizard", StringComparison.Ordinal);
        var column = lines[line].IndexOf("wizard", StringComparison.Ordinal) + 1;
        dir.Write("bad.yaml", string.Join('\n', lines));

        var (message, registered) = await FailingRun(Fixture.Config().With(ConfigKeys.Roster, "bad.yaml"), dir.Path);
        var first = message.Split('\n').First(l => l.TrimStart().StartsWith("bad.yaml:", StringComparison.Ordinal)).Trim();
        Assert.StartsWith($"bad.yaml:{line + 1}:{column}: users.alice.tier: unknown tier 'wizard'", first, StringComparison.Ordinal);
        Assert.Equal(0, registered);
    }

    [Fact]
    public async Task S7_with_the_email_claim_a_person_without_an_email_stops_the_program_naming_file_line_and_field()
    {
        // The golden admin has no email: with the OIDC role reading email, no alias could be named for them.
        using var dir = new TempHostDir();
        File.Copy(Repo.Golden("roster.yaml"), System.IO.Path.Combine(dir.Path, "roster.yaml"));
        var line = Array.FindIndex(Fixture.RosterText.Split('\n'), l => l == "admin:") + 2;
        var (message, registered) = await FailingRun(Fixture.Config().With(ConfigKeys.VaultOidcUserClaim, "email"), dir.Path);
        Assert.Contains($"roster.yaml:{line}:3: admin.email: required: the stack's Vault OIDC role names logins by email", message, StringComparison.Ordinal);
        Assert.Equal(0, registered);
    }

    [Fact]
    public async Task A_valid_program_runs_end_to_end_from_the_project_folder()
    {
        using var dir = new TempHostDir();
        TempHostDir.CopyTree(Repo.HostDir, System.IO.Path.Combine(dir.Path, "host"));
        File.Copy(Repo.Golden("roster.yaml"), System.IO.Path.Combine(dir.Path, "roster.yaml"));

        var run = await Harness.RunAsync(() => WorkstationProgram.Run(Fixture.Config(), dir.Path));
        Assert.Equal(48, run.Registrations.Count);
        Assert.Equal(Fixture.Bundle.Sha256, (await Harness.ResolveAsync(run.Outputs["hostContentSha256"]))!);

        // With the ceiling checked: the golden people's 15G fit 24G less the 2G reserve.
        var within = await Harness.RunAsync(() => WorkstationProgram.Run(Fixture.Config().With(ConfigKeys.HostMemory, "24G"), dir.Path));
        Assert.Equal(48, within.Registrations.Count);
    }
}

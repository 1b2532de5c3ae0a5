namespace Host.Tests;

/// <summary>install.sh and the unit templates.</summary>
[Collection(SandboxCollection3.Name)]
public sealed class InstallTests(SandboxFixture box)
{
    private const string Tree = """
        find /usr/local/lib/workstation /etc/systemd/system -maxdepth 3 -printf '%p|%y|%m|%u|%s|%T@|%i\n' | sort
        journalctl _PID=1 --no-pager -o cat | grep -c '^Reloading' || true
        """;

    [Fact]
    public async Task Reinstalling_the_same_tree_changes_nothing_and_a_changed_unit_reloads_systemd_once()
    {
        await HostWorld.ReadyAsync(box);
        var before = await box.ScriptAsync(Tree);
        var same = await box.MustAsync(HostCommands.Install, stdin: HostWorld.HostBundle(box.RepoRoot));
        Assert.Contains("install: nothing changed", same.Stdout, StringComparison.Ordinal);
        Assert.Empty(same.Changes());
        Assert.Equal(before, await box.ScriptAsync(Tree)); // no mtime, no inode, no daemon-reload

        // A copy of host/ with one unit edited and one new file: exactly those change.
        var tmp = Directory.CreateTempSubdirectory("ws-host-edit-");
        try
        {
            CopyTree(Path.Combine(box.RepoRoot, "host"), Path.Combine(tmp.FullName, "host"));
            File.AppendAllText(Path.Combine(tmp.FullName, "host", "units", "t3-serve@.service"), "# edited\n");
            File.WriteAllText(Path.Combine(tmp.FullName, "host", "lib", "extra.txt"), "x\n");
            var edited = await box.MustAsync(HostCommands.Install, stdin: HostWorld.HostBundle(box.RepoRoot, tmp.FullName));
            Assert.Equal(
                [
                    "workstation: changed: /usr/local/lib/workstation/lib/extra.txt",
                    "workstation: changed: /usr/local/lib/workstation/units/t3-serve@.service",
                    "workstation: changed: /etc/systemd/system/t3-serve@.service",
                    "workstation: changed: systemctl daemon-reload",
                ],
                edited.Changes());
        }
        finally
        {
            tmp.Delete(recursive: true);
        }

        // Back to the real tree: the edit is undone and the extra file removed.
        var back = await box.MustAsync(HostCommands.Install, stdin: HostWorld.HostBundle(box.RepoRoot));
        Assert.Contains("workstation: changed: removed /usr/local/lib/workstation/lib/extra.txt", back.Changes());
        Assert.Contains("workstation: changed: /etc/systemd/system/t3-serve@.service", back.Changes());
    }

    [Fact]
    public async Task Unit_templates_pass_systemd_analyze_verify_when_instantiated()
    {
        await HostWorld.ReadyAsync(box);
        await box.MustAsync(new TestUser("vic", 2113, 4113, 4213).Apply(tokenStdin: false));
        var r = await box.RunAsync("""
            set -euo pipefail
            d=$(mktemp -d)
            for f in /usr/local/lib/workstation/units/*; do
              b=$(basename "$f")
              cp "$f" "$d/${b/@./@vic.}"
            done
            ls "$d"
            cd "$d" && systemd-analyze verify ./*
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("playwright-mcp@vic.service", r.Stdout, StringComparison.Ordinal);
        Assert.Contains("playwright-snapshot-refresh@vic.timer", r.Stdout, StringComparison.Ordinal);
        Assert.Equal("", r.Stderr.Trim());

        // %i (never %I) in every template.
        var units = Directory.GetFiles(Path.Combine(box.RepoRoot, "host", "units"));
        Assert.Equal(11, units.Length);
        Assert.Contains(units, u => Path.GetFileName(u) == "workstation-restart-pending.timer");
        Assert.Contains(units, u => Path.GetFileName(u) == "workstation-firewall.service");
        Assert.Contains(units, u => Path.GetFileName(u) == "workstation-backup.service");
        Assert.Contains(units, u => Path.GetFileName(u) == "workstation-backup.timer");
        Assert.Contains(units, u => Path.GetFileName(u) == "workstation-pressure.timer");
        Assert.All(units, u => Assert.DoesNotContain("%I", File.ReadAllText(u), StringComparison.Ordinal));
    }

    /// <summary>
    /// The base step runs only on the host/ tree the program packaged: the host hashes its
    /// installed base inputs as HostCommands does (the step that ReadyAsync ran passed, so the
    /// two agree) and refuses a stale or edited copy, exit 3, before touching anything.
    /// </summary>
    [Fact]
    public async Task Base_apply_refuses_an_installed_base_that_is_not_the_packaged_one()
    {
        await HostWorld.ReadyAsync(box);
        var before = await box.ScriptAsync("sha256sum /etc/claude-code/managed-settings.json /etc/skel/.zshrc /etc/skel/start-claude.sh");
        var stale = await box.RunAsync(HostCommands.Base(new string('0', 64), new BaseSettings()), timeout: TimeSpan.FromSeconds(30));
        Assert.True(stale.ExitCode == 3, stale.ToString());
        Assert.Contains("install this host/ first", stale.Stderr, StringComparison.Ordinal);

        // A hand edit of an installed base file: the program's hash no longer matches.
        await box.MustAsync($"cp {HostCommands.InstallDir}/packages.txt /root/packages.txt.keep && echo tmux >> {HostCommands.InstallDir}/packages.txt");
        try
        {
            var edited = await box.RunAsync(HostWorld.BaseCommand(box.RepoRoot), timeout: TimeSpan.FromSeconds(30));
            Assert.True(edited.ExitCode == 3, edited.ToString());
        }
        finally
        {
            await box.MustAsync($"mv /root/packages.txt.keep {HostCommands.InstallDir}/packages.txt");
        }
        Assert.Equal(before, await box.ScriptAsync("sha256sum /etc/claude-code/managed-settings.json /etc/skel/.zshrc /etc/skel/start-claude.sh"));
        await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot), timeout: TimeSpan.FromMinutes(10));
    }

    [Fact]
    public async Task Base_apply_is_idempotent()
    {
        await HostWorld.ReadyAsync(box);
        var again = await box.MustAsync(HostWorld.BaseCommand(box.RepoRoot), timeout: TimeSpan.FromMinutes(10));
        Assert.Empty(again.Changes());
        // What the base put in place is the repository's base, byte for byte (plus one final newline).
        var baseDir = Path.Combine(box.RepoRoot, "host", "base");
        foreach (var (installed, source) in new[]
        {
            ("/etc/claude-code/managed-settings.json", "managed-settings.json"),
            ("/etc/skel/.zshrc", "skel/zshrc"),
            ("/etc/skel/start-claude.sh", "skel/start-claude.sh"),
        })
        {
            var onBox = (await box.MustAsync($"cat {installed}")).Stdout;
            Assert.Equal(File.ReadAllText(Path.Combine(baseDir, source)).TrimEnd('\n') + "\n", onBox);
        }
        Assert.Equal("0755\n", (await box.MustAsync("stat -c %04a /etc/skel/start-claude.sh")).Stdout);
    }

    /// <summary>
    /// Issue 26 §6: the base installs host/base/tmpfiles.d/workstation.conf, so the fixed
    /// directories are there with the host's modes, and a boot's systemd-tmpfiles (here: the
    /// box's whole configuration, limited to our prefixes; /run/workstation moved away as a
    /// boot leaves it) makes /run's again.
    /// </summary>
    [Fact]
    public async Task The_base_installs_the_fixed_directories_and_a_boot_makes_them_again()
    {
        await HostWorld.ReadyAsync(box);
        var conf = File.ReadAllText(Path.Combine(box.RepoRoot, "host", "base", "tmpfiles.d", "workstation.conf"));
        var dirs = conf.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f is ["d", _, _, _, _, _]).Select(f => (Path: f[1], Mode: f[2], Owner: $"{f[3]}:{f[4]}")).ToList();
        Assert.Contains(dirs, d => d.Path == "/run/workstation");
        Assert.Contains(dirs, d => d.Path.StartsWith("/var/lib/", StringComparison.Ordinal));
        Assert.Contains(dirs, d => d.Path.StartsWith("/var/backups/", StringComparison.Ordinal));
        var want = string.Join("\n", dirs.Select(d => $"{d.Path} {d.Mode} {d.Owner}")) + "\n";
        var stat = string.Join(' ', dirs.Select(d => d.Path));

        Assert.Equal(conf.TrimEnd('\n') + "\n", (await box.MustAsync("cat /etc/tmpfiles.d/workstation.conf")).Stdout);
        Assert.Equal(want, (await box.MustAsync($"stat -c '%n %04a %U:%G' {stat}")).Stdout);

        var booted = await box.ScriptAsync($"""
            set -euo pipefail
            aside=$(mktemp -d /run/ws-aside.XXXXXX)
            mv /run/workstation "$aside/"
            systemd-tmpfiles --create --prefix=/run/workstation || true
            stat -c '%n %04a %U:%G' {stat} || true
            rm -rf /run/workstation
            mv "$aside/workstation" /run/workstation
            rmdir "$aside"
            """);
        Assert.Equal(want, booted);
    }

    internal static void CopyTree(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to); // keeps the mode bits
        }
    }
}

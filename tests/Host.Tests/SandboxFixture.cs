using Xunit.Sdk;

// The shards run at once, each on a box of its own (a named sandbox instance, its own port);
// the box-replacing collection starts when a shard is done (xunit's conservative algorithm runs
// at most MaxParallelThreads collections at a time, in the orderer's order).
[assembly: CollectionBehavior(MaxParallelThreads = Host.Tests.SandboxCollection.Shards)]
[assembly: TestCollectionOrderer("Host.Tests.ReplacedBoxLast", "Host.Tests")]

namespace Host.Tests;

/// <summary>What one command run over SSH returned.</summary>
public sealed record SshResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() =>
        $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// The host tests that share a box are split into shards, each a collection with a box of its
/// own: one sandbox devvm, host/ installed once, and the shard's tests run one after another
/// (xunit never runs a collection in parallel), beside the other shards' (see
/// docs/testing.md, "The host layer's order", for how classes are balanced over them).
/// </summary>
[CollectionDefinition(Name)]
public sealed class SandboxCollection : ICollectionFixture<SandboxFixture>
{
    public const string Name = "sandbox";

    /// <summary>The shards that run at once: <see cref="SandboxCollection"/>, <see cref="SandboxCollection2"/>, <see cref="SandboxCollection3"/>.</summary>
    public const int Shards = 3;
}

/// <summary>The second shard of the shared-box tests (<see cref="SandboxCollection"/>).</summary>
[CollectionDefinition(Name)]
public sealed class SandboxCollection2 : ICollectionFixture<SandboxFixture>
{
    public const string Name = "sandbox 2";
}

/// <summary>The third shard of the shared-box tests (<see cref="SandboxCollection"/>).</summary>
[CollectionDefinition(Name)]
public sealed class SandboxCollection3 : ICollectionFixture<SandboxFixture>
{
    public const string Name = "sandbox 3";
}

/// <summary>
/// The tests that replace the box (`sandbox.sh up` mid-run: a rebuilt devvm, a seed-like box,
/// a killed run) run last, in a collection of their own (<see cref="ReplacedBoxLast"/>), so no
/// test of the shared box pays for installing host/ again. Each starts from its own `up`.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ReplacedBoxCollection : ICollectionFixture<SandboxFixture>
{
    public const string Name = "sandbox, replaced";
}

/// <summary>Runs the shards first and <see cref="ReplacedBoxCollection"/> last.</summary>
public sealed class ReplacedBoxLast : ITestCollectionOrderer
{
    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderBy(c => c.DisplayName == ReplacedBoxCollection.Name ? 1 : 0).ThenBy(c => c.DisplayName, StringComparer.Ordinal);
}

/// <summary>
/// Boots a sandbox devvm (<c>scripts/sandbox.sh up</c>: Debian, systemd as PID 1,
/// sshd on 127.0.0.1) once per collection and runs commands in it over real SSH, the
/// way Pulumi.Command's remote Command does. Each collection's fixture is a box of its
/// own: a named sandbox instance (<see cref="Name"/>) on a port of its own
/// (<see cref="PortFor"/>), so the shards run at once. Needs root; without it, or when the
/// container cannot start, every test in the collection fails (never skips).
/// </summary>
/// <remarks>
/// The harness's own commands share one SSH connection per box (an OpenSSH ControlMaster):
/// a fresh connection costs a key exchange and a login each time, about 0.27 s, against
/// about 0.05 s for a session on an open one. The host code never sees the difference (each
/// command is still a session of its own, with its own stdin, stdout and exit code).
/// <see cref="KillDuringAsync"/> keeps a connection of its own: an interrupted `pulumi up`
/// drops its own connection, and that is what the tests of it play.
/// </remarks>
public sealed class SandboxFixture : IAsyncLifetime
{
    private static readonly TimeSpan UpTimeout = TimeSpan.FromMinutes(30); // a fresh rootfs build included
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);
    private static int _slots = -1;

    private readonly IMessageSink _sink;
    private readonly int _slot;
    private string? _knownHosts;
    private DirectoryInfo? _controlDir;

    public SandboxFixture(IMessageSink sink)
    {
        _sink = sink;
        RepoRoot = FindRepoRoot();
        _slot = Interlocked.Increment(ref _slots); // xunit makes one fixture per collection
        Name = $"hosttest-{_slot + 1}";
    }

    /// <summary>The box's sandbox instance name (SANDBOX_NAME): one per collection of this run.</summary>
    public string Name { get; }

    /// <summary>The box's machine name (its hostname), as scripts/sandbox.sh gives a named instance.</summary>
    public string Machine => $"ws-sandbox-{Name}";

    /// <summary>The box's instance folder (overlay, nspawn pid, logs), as scripts/sandbox.sh names it.</summary>
    public string InstanceDir => Path.Combine(CacheDir, $"instance-{Name}");

    /// <summary>Whether host/, the base and the fixture repository are set up on this box (<see cref="HostWorld.ReadyAsync"/>).</summary>
    internal bool Ready { get; set; }

    /// <summary>Held while <see cref="Ready"/> is checked and the box set up.</summary>
    internal SemaphoreSlim ReadyGate { get; } = new(1, 1);

    /// <summary>The checkout: the folder holding Directory.Build.props.</summary>
    public string RepoRoot { get; }

    public string Host { get; private set; } = "";
    public int Port { get; private set; }
    public string User { get; private set; } = "";
    /// <summary>Path of the client private key (root's authorized key in the box).</summary>
    public string PrivateKeyPath { get; private set; } = "";
    /// <summary>The box's pinned host public key, "ssh-ed25519 AAAA…".</summary>
    public string HostKey { get; private set; } = "";

    private string Script => Path.Combine(RepoRoot, "scripts", "sandbox.sh");

    /// <summary>The sandbox's cache dir (instance, rootfs, keys), as scripts/sandbox.sh computes it.</summary>
    public static string CacheDir =>
        Path.Combine(Environment.GetEnvironmentVariable("WORKSTATION_CACHE") is { Length: > 0 } c ? c : "/var/cache/workstation", "sandbox");

    /// <summary>
    /// Runs scripts/sandbox.sh with <paramref name="args"/> on this machine, for this box
    /// (its name and port). The shared connection is closed first: `up` and `down` end the box it runs to.
    /// </summary>
    public async Task<SshResult> SandboxAsync(params string[] args)
    {
        await CloseConnectionAsync();
        return await SandboxAsAsync(Name, PortFor(_slot), args);
    }

    /// <summary>The SSH port the environment gives the sandbox (SANDBOX_SSH_PORT, else sandbox.sh's 2222).</summary>
    public static int BasePort =>
        int.TryParse(Environment.GetEnvironmentVariable("SANDBOX_SSH_PORT"), System.Globalization.CultureInfo.InvariantCulture, out var p) ? p : 2222;

    /// <summary>
    /// The port of box slot <paramref name="slot"/>: 100 apart, so the boxes of two test runs whose
    /// base ports are near (other checkouts on the machine) never ask for the same one.
    /// </summary>
    public static int PortFor(int slot) => BasePort + 100 * slot;

    /// <summary>Runs scripts/sandbox.sh for the named instance <paramref name="name"/> on <paramref name="port"/>: a box beside this fixture's.</summary>
    public Task<SshResult> SandboxAsAsync(string name, int port, params string[] args) =>
        RunProcessAsync(Script, args, stdin: null, UpTimeout, new Dictionary<string, string>
        {
            ["SANDBOX_NAME"] = name,
            ["SANDBOX_SSH_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });

    public async Task InitializeAsync()
    {
        if (!Environment.IsPrivilegedProcess)
            throw new InvalidOperationException(
                "Host tests need root: scripts/sandbox.sh boots a systemd-nspawn container. Run `sudo dotnet test tests/Host.Tests`.");

        var started = Stopwatch.StartNew();
        var up = await SandboxAsync("up");
        if (up.ExitCode != 0)
            throw new InvalidOperationException($"scripts/sandbox.sh up failed, so no host test can run.\n{up}");
        _sink.OnMessage(new DiagnosticMessage($"sandbox {Name} up in {started.Elapsed.TotalSeconds:F0}s"));

        var env = await SandboxAsync("env");
        if (env.ExitCode != 0)
            throw new InvalidOperationException($"scripts/sandbox.sh env failed.\n{env}");
        var vars = ParseEnv(env.Stdout);
        Host = Require(vars, "SANDBOX_SSH_HOST");
        Port = int.Parse(Require(vars, "SANDBOX_SSH_PORT"), System.Globalization.CultureInfo.InvariantCulture);
        User = Require(vars, "SANDBOX_SSH_USER");
        PrivateKeyPath = Require(vars, "SANDBOX_SSH_KEY");
        HostKey = Require(vars, "SANDBOX_HOST_KEY");

        // Pin the host key the way Pulumi's connection does: nothing else is accepted.
        // The known hosts file and the shared connection's socket live in a folder only we may
        // enter (0700, as CreateTempSubdirectory makes it, mkdtemp's way): nobody else on this
        // machine can use the connection, or swap the key.
        _controlDir = Directory.CreateTempSubdirectory($"ws-{Name}-");
        _knownHosts = Path.Combine(_controlDir.FullName, "known_hosts");
        await File.WriteAllTextAsync(_knownHosts, $"[{Host}]:{Port} {HostKey}\n");
    }

    public async Task DisposeAsync()
    {
        await CloseConnectionAsync();
        _controlDir?.Delete(recursive: true);
        var down = await SandboxAsAsync(Name, PortFor(_slot), "down");
        if (down.ExitCode != 0)
            throw new InvalidOperationException($"scripts/sandbox.sh down failed.\n{down}");
    }

    /// <summary>The shared connection's control socket (short: a socket path holds at most 107 bytes).</summary>
    private string? ControlPath => _controlDir is null ? null : Path.Combine(_controlDir.FullName, "cm");

    /// <summary>Ends the box's shared SSH connection, if one is open (the next command opens another).</summary>
    private async Task CloseConnectionAsync()
    {
        if (ControlPath is not { } path || !File.Exists(path)) return;
        await RunProcessAsync("ssh", ["-o", $"ControlPath={path}", "-O", "exit", $"{User}@{Host}"], stdin: null, TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// Runs <paramref name="command"/> in the box over SSH, exactly as given (one string
    /// for the remote login shell). <paramref name="stdin"/> is sent then closed; without
    /// it the command reads an empty stdin. Throws <see cref="TimeoutException"/> past
    /// <paramref name="timeout"/> (default 5 min).
    /// </summary>
    public Task<SshResult> RunAsync(string command, string? stdin = null, TimeSpan? timeout = null) =>
        RunProcessAsync("ssh", SshArgs(command, shared: true), stdin, timeout ?? DefaultTimeout);

    /// <summary>
    /// Starts <paramref name="command"/> over SSH and kills the ssh client after
    /// <paramref name="after"/>, as an interrupted `pulumi up` would. What happens to the
    /// remote command is then the remote side's business (no pty: it gets no SIGHUP).
    /// Throws if the command ended before it could be interrupted. A connection of its own, never
    /// the shared one: what is played is `pulumi up` dropping its connection, so it must be one
    /// that ends with the client.
    /// </summary>
    public async Task KillDuringAsync(string command, TimeSpan after)
    {
        using var p = Start("ssh", SshArgs(command, shared: false));
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using (var cts = new CancellationTokenSource(after))
        {
            try
            {
                await p.WaitForExitAsync(cts.Token);
                throw new InvalidOperationException(
                    $"`{command}` ended (exit {p.ExitCode}) before {after} passed, so it was never interrupted.\n{await stderr}");
            }
            catch (OperationCanceledException) { }
        }
        p.Kill(entireProcessTree: true);
        await p.WaitForExitAsync();
        await Task.WhenAll(stdout, stderr);
    }

    /// <summary>
    /// The ssh client's arguments. <paramref name="shared"/>: a session on the box's shared
    /// connection, opened by the first command that finds none (ControlMaster=auto) and kept
    /// 120 s past the last session; otherwise a connection of the command's own.
    /// </summary>
    private List<string> SshArgs(string command, bool shared)
    {
        if (_knownHosts is null || ControlPath is null) throw new InvalidOperationException("the sandbox is not up");
        List<string> args =
        [
            "-i", PrivateKeyPath, "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", $"UserKnownHostsFile={_knownHosts}",
            "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
        ];
        args.AddRange(shared
            ? ["-o", "ControlMaster=auto", "-o", $"ControlPath={ControlPath}", "-o", "ControlPersist=120"]
            : ["-o", "ControlMaster=no", "-o", "ControlPath=none"]);
        args.AddRange([$"{User}@{Host}", command]);
        return args;
    }

    private static Process Start(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        return Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
    }

    /// <summary>Runs a program on this machine (root), bounded: plumbing between boxes that no box can do.</summary>
    public static Task<SshResult> RunLocalAsync(string file, IEnumerable<string> args) =>
        RunProcessAsync(file, args, stdin: null, TimeSpan.FromSeconds(60));

    private static async Task<SshResult> RunProcessAsync(string file, IEnumerable<string> args, string? stdin, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? env = null)
    {
        using var p = Start(file, args, env);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null) await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            throw new TimeoutException(
                $"`{file} {string.Join(' ', args)}` still running after {timeout}.\n{new SshResult(-1, await stdout, await stderr)}");
        }
        return new SshResult(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Parses `NAME=value` / `NAME='value'` lines as printed by `sandbox.sh env`.</summary>
    internal static Dictionary<string, string> ParseEnv(string text)
    {
        var vars = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) continue;
            var value = line[(eq + 1)..];
            if (value.Length >= 2 && value[0] == '\'' && value[^1] == '\'') value = value[1..^1];
            vars[line[..eq]] = value;
        }
        return vars;
    }

    private static string Require(Dictionary<string, string> vars, string name) =>
        vars.TryGetValue(name, out var v) && v.Length > 0
            ? v
            : throw new InvalidOperationException($"scripts/sandbox.sh env printed no {name}");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Build.props")))
                return dir.FullName;
        throw new InvalidOperationException(
            $"no Directory.Build.props above {AppContext.BaseDirectory}: cannot find the repository root");
    }
}

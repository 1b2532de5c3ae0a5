using System.Text.Json;

namespace Workstation.Roster;

/// <summary>The config base: a git URL and ref merged into every home, and whether its hooks are merged from a moving ref.</summary>
/// <param name="Ref">A branch, tag or commit.</param>
/// <param name="Hooks">configBaseHooks: the hooks are merged even when Ref is a branch or tag; false: only from a commit pinned by hash.</param>
public sealed record ConfigBaseSource(string Url, string Ref, bool Hooks = false);

/// <summary>
/// The base step's settings (`base apply`, <see cref="HostCommands.Base"/>): one record, each
/// property optional with the host's default, so a caller names only what it sets.
/// </summary>
public sealed record BaseSettings
{
    /// <summary>The managed swap file's size (e.g. 8G): created, or resized without a moment at zero swap; null: none.</summary>
    public string? SwapSize { get; init; }

    /// <summary>vm.swappiness (0-200); null: the kernel's.</summary>
    public int? Swappiness { get; init; }

    /// <summary>Where the pinned tools (host/tools.txt) come from instead of upstream; null: upstream.</summary>
    public string? ToolsMirror { get; init; }

    /// <summary>false: the pinned tools are not installed (a stack with no route to upstream or a mirror, e.g. the sandbox).</summary>
    public bool PinnedTools { get; init; } = true;

    /// <summary>false: /etc/skel/start-claude.sh belongs to another deployer and is left alone.</summary>
    public bool OwnLauncher { get; init; } = true;

    /// <summary>Where node_exporter listens: off (left alone) or ADDRESS:PORT; null: loopback, the host's default.</summary>
    public string? NodeExporter { get; init; }

    /// <summary>The config base; null: none.</summary>
    public ConfigBaseSource? ConfigBase { get; init; }

    /// <summary>true: a Claude Code already installed is kept at its version; false: it follows the pin.</summary>
    public bool ClaudeCodeIfMissing { get; init; }

    /// <summary>The t3 server's npm package pinned to one version (NAME@X.Y.Z), installed with the npm globals; null: t3 is installed some other way.</summary>
    public string? T3Package { get; init; }

    /// <summary>
    /// Shared files the workstation owns even where a hand-made setup wrote them: base files go to
    /// the base step (backed up, diffed, replaced), unit templates to the installer. None: such a file is refused.
    /// </summary>
    public IReadOnlyList<SharedFiles.Target> TakeOver { get; init; } = [];
}

/// <summary>
/// The base section: what the base step sets up on the machine (<see cref="BaseSettings"/>), and
/// the host's capacity for the ceiling check, which counts the same swap.
/// </summary>
public static class BaseSection
{
    // The keys, a line a concern: swap, the pinned tools, the launcher and node_exporter, the config
    // base, the npm and Claude Code pins, the take-over, the capacity.
    public const string SwapSize = HostCapacity.Keys.SwapSize, Swappiness = "swappiness";
    public const string ToolsMirror = "toolsMirror", PinnedTools = "pinnedTools";
    public const string OwnLauncher = "ownLauncher", NodeExporter = "nodeExporter";
    public const string ConfigBaseUrl = "configBaseUrl", ConfigBaseRef = "configBaseRef", ConfigBaseHooks = "configBaseHooks";
    public const string T3Package = "t3Package", ClaudeCodePolicy = "claudeCodePolicy";
    public const string TakeOver = "takeOver";
    public const string HostMemory = HostCapacity.Keys.HostMemory, MemoryReserve = HostCapacity.Keys.MemoryReserve, CapacityWarnPercent = HostCapacity.Keys.WarnPercent;

    public static readonly IReadOnlyList<string> Keys =
    [
        SwapSize, Swappiness, ToolsMirror, PinnedTools, OwnLauncher, NodeExporter, ConfigBaseUrl, ConfigBaseRef, ConfigBaseHooks,
        T3Package, TakeOver, ClaudeCodePolicy, HostMemory, MemoryReserve, CapacityWarnPercent,
    ];

    /// <param name="Capacity">The host's memory, swap and reserve for the ceiling check; null: hostMemory unset, not checked.</param>
    public sealed record Values(BaseSettings Base, HostCapacity? Capacity);

    public static Section<Values> Read(Func<string, string?> get)
    {
        var c = new SectionConfig(Keys, get);
        var swapSize = c.Word(SwapSize, Rules.SwapSize(), "a swap size like 8G or 512M");
        int? swappiness = c.Get(Swappiness) is { Length: > 0 } sw
            ? c.Number(Swappiness, sw, Rules.MinSwappiness, Rules.MaxSwappiness, $"a swappiness ({Rules.MinSwappiness}-{Rules.MaxSwappiness})")
            : null;
        var configBase = ConfigBase(c);
        // loopback is the host's default: no flag, so the base step's command is what it was before the key.
        var nodeExporter = c.Get(NodeExporter) is { Length: > 0 } ne ? ne : "loopback";
        if (!Rules.NodeExporter().IsMatch(nodeExporter))
            c.Add(NodeExporter, StackValues.NotA(nodeExporter, "loopback, off, or a listen address ADDRESS:PORT (IPv4, e.g. 10.0.0.5:9100)"));
        var claudePolicy = c.Get(ClaudeCodePolicy) is { Length: > 0 } cp ? cp : "pinned";
        if (claudePolicy is not ("pinned" or "if-missing"))
            c.Add(ClaudeCodePolicy, StackValues.NotA(claudePolicy, "pinned or if-missing"));
        var ownLauncher = c.Switch(OwnLauncher);
        var takeOver = Targets(c, ownLauncher);
        if (nodeExporter == "off" && takeOver.Any(t => t.Path == SharedFiles.NodeExporterDropIn))
            c.Add(TakeOver, $"'{SharedFiles.NodeExporterDropIn}' is node_exporter's drop-in, which nodeExporter: off leaves alone");
        var t3Package = c.Word(T3Package, Rules.NpmPin(), "an npm package pinned to one version, NAME@X.Y.Z (never @latest, a tag or a range)");
        var toolsMirror = c.Word(ToolsMirror, Rules.ToolsMirror(), "an http(s) URL or an absolute folder on the devvm (e.g. https://mirror.example/tools)");
        var pinnedTools = c.Switch(PinnedTools);
        // The swap size's own error is reported above; the capacity keys report theirs here.
        var (capacity, capacityErrors) = HostCapacity.FromConfig(k => k == SwapSize && swapSize is null ? null : c.Get(k));
        foreach (var (key, message) in capacityErrors) c.Add(key, message);

        return c.Result(new Values(new BaseSettings
        {
            SwapSize = swapSize,
            Swappiness = swappiness,
            ToolsMirror = toolsMirror,
            PinnedTools = pinnedTools,
            OwnLauncher = ownLauncher,
            NodeExporter = nodeExporter == "loopback" ? null : nodeExporter,
            ConfigBase = configBase,
            ClaudeCodeIfMissing = claudePolicy == "if-missing",
            T3Package = t3Package,
            TakeOver = takeOver,
        }, capacity));
    }

    private static ConfigBaseSource? ConfigBase(SectionConfig c)
    {
        // Off unless set: hooks from a moving ref run code as everyone, so allowing them is explicit.
        var hooks = c.Get(ConfigBaseHooks) is { Length: > 0 } && c.Switch(ConfigBaseHooks);
        if (c.Get(ConfigBaseUrl) is not { Length: > 0 } url) return null;
        if (url.Any(char.IsControl) || url.Any(char.IsWhiteSpace))
            c.Add(ConfigBaseUrl, "must be one git URL or path, without whitespace");
        c.NoCredentials(ConfigBaseUrl, url);
        var gitRef = c.Word(ConfigBaseRef, Rules.ConfigBaseRef(), "a branch, tag or commit of the config base") ?? "main";
        return new ConfigBaseSource(url, gitRef, hooks);
    }

    // A list of paths (`pulumi config set --path 'takeOver[0]' PATH`); each must be a file Workstation writes.
    private static List<SharedFiles.Target> Targets(SectionConfig c, bool ownLauncher)
    {
        var targets = new List<SharedFiles.Target>();
        if (c.Get(TakeOver) is not { Length: > 0 } text) return targets;
        List<string?>? paths = null;
        try
        {
            paths = JsonSerializer.Deserialize<List<string?>>(text);
        }
        catch (JsonException)
        {
            // reported below
        }
        if (paths is null)
        {
            c.Add(TakeOver, "is not a list of paths (set its entries with `pulumi config set --path 'takeOver[0]' /etc/...`)");
            return targets;
        }
        for (var i = 0; i < paths.Count; i++)
        {
            var (target, why) = SharedFiles.ParseTarget(paths[i] ?? "", ownLauncher);
            if (target is null) c.Add($"{TakeOver}[{i}]", $"'{StackValues.Printable(paths[i] ?? "")}' {why}");
            else if (targets.Any(t => t.Path == target.Path)) c.Add($"{TakeOver}[{i}]", $"'{target.Path}' is listed twice");
            else targets.Add(target);
        }
        return targets;
    }
}

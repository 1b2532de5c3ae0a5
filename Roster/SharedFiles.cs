using System.Text.RegularExpressions;

namespace Workstation.Roster;

/// <summary>A file the base step writes outside any home: its path, its source under host/base, its mode.</summary>
public sealed record BaseFile(string Path, string Source, string Mode);

/// <summary>
/// The shared files Workstation writes outside the homes that a hand-made setup may already
/// have: the base's files and the unit templates. One list for the program (the stack's
/// takeOver is checked against it) and the host (generated into rules.sh).
/// </summary>
public static partial class SharedFiles
{
    public const string UnitDir = "/etc/systemd/system";

    /// <summary>The launcher; written (and taken over) only while the workstation owns it (ownLauncher).</summary>
    public const string Launcher = "/etc/skel/start-claude.sh";

    /// <summary>node_exporter's listen address and textfile folder; written only while the stack's nodeExporter is not off.</summary>
    public const string NodeExporterDropIn = "/etc/systemd/system/prometheus-node-exporter.service.d/50-workstation.conf";

    /// <summary>The edge's shared maps (`maps apply`): ttyd's Authentik user to os_user, and the t3 dispatcher's Authentik user to os_user and port.</summary>
    public const string TtydMap = "/etc/ttyd-user-map";
    public const string DispatchDir = "/etc/t3-serve";
    public const string DispatchJson = DispatchDir + "/dispatch.json";

    public static readonly IReadOnlyList<BaseFile> Base =
    [
        new("/etc/claude-code/managed-settings.json", "managed-settings.json", "0644"),
        new("/etc/profile.d/00-workstation.sh", "profile.d/00-workstation.sh", "0644"),
        new("/etc/zsh/zshrc.d/00-workstation.zsh", "zshrc.d/00-workstation.zsh", "0644"),
        new("/etc/skel/.zshrc", "skel/zshrc", "0644"),
        new("/etc/skel/.tmux.conf", "skel/tmux.conf", "0644"),
        new(Launcher, "skel/start-claude.sh", "0755"),
        new(NodeExporterDropIn, "node-exporter.conf", "0644"),
    ];

    /// <summary>What a takeOver entry names: a base file, or a unit template by its file name.</summary>
    public abstract record Target(string Path);
    public sealed record BaseTarget(string Path) : Target(Path);
    public sealed record UnitTarget(string Path, string Name) : Target(Path);

    /// <summary>Parses one takeOver entry; null with the reason when it is no file Workstation writes.</summary>
    public static (Target? Target, string? Why) ParseTarget(string path, bool ownLauncher)
    {
        if (Base.Any(f => f.Path == path))
            return path == Launcher && !ownLauncher
                ? (null, $"is the launcher, which ownLauncher: false leaves to another deployer")
                : (new BaseTarget(path), null);
        var m = UnitPath().Match(path);
        return m.Success
            ? (new UnitTarget(path, m.Groups[1].Value), null)
            : (null, $"is not a file Workstation writes: one of {string.Join(", ", Base.Select(f => f.Path))}, or {UnitDir}/NAME for a unit template of host/units");
    }

    [GeneratedRegex(@"^/etc/systemd/system/([A-Za-z0-9][A-Za-z0-9@._-]{0,99})\z")]
    private static partial Regex UnitPath();
}

using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using Workstation.Roster;

namespace Workstation.Components;

/// <summary>
/// The repo's host/ folder as a tar.gz whose bytes depend only on file names, contents and the
/// executable bit: entries are sorted, and mtime, owner and mode are normalised. Its hash is the
/// install step's trigger, so an unchanged folder never re-installs. BaseInputsSha256 covers
/// only what the base step reads (<see cref="HostCommands.BaseInputs"/>).
/// </summary>
/// <param name="Units">The unit templates' file names (host/units), space-separated: what the stack's takeOver may name.</param>
/// <param name="StepRevs">`STEP=HEX` for each host step with a create, space-separated: the hash of the files it runs (<see cref="HostCommands.StepInputs"/>), which rides on its command line. A string, so two bundles of the same folder are equal.</param>
public sealed record HostBundle(string Base64, string Sha256, int Files, string BaseInputsSha256, string Units = "", string StepRevs = "")
{
    public bool HasUnit(string name) => Units.Split(' ').Contains(name, StringComparer.Ordinal);

    /// <summary>By host step name: <see cref="StepRevs"/>.</summary>
    public IReadOnlyDictionary<string, string> StepInputsSha256 =>
        StepRevs.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);

    /// <summary><paramref name="apply"/> at the revision of <paramref name="step"/>'s host code (<see cref="HostCommands.AtHostRev"/>).</summary>
    public string AtHostRev(HostStep step, string apply) =>
        StepInputsSha256.GetValueOrDefault(step.Name) is { } rev
            ? HostCommands.AtHostRev(apply, rev)
            : throw new InvalidOperationException($"the host bundle has no hash for the {step.Name} step");

    /// <summary>Every entry's mtime: a fixed instant, so checkouts at different times hash the same.</summary>
    public static readonly DateTimeOffset FixedMtime = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Reads the folder; entries are named host/... because the install command runs "$d/host/install.sh".</summary>
    public static HostBundle FromDirectory(string hostDir)
    {
        var root = new DirectoryInfo(hostDir);
        if (!root.Exists) throw new DirectoryNotFoundException($"the host folder {Path.GetFullPath(hostDir)} does not exist");

        using var tar = new MemoryStream();
        var files = 0;
        var contents = new List<(string Path, byte[] Content)>();
        using (var writer = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var (relative, info) in Walk(root))
            {
                var name = "host/" + relative;
                if (info is DirectoryInfo)
                {
                    writer.WriteEntry(Normalise(new UstarTarEntry(TarEntryType.Directory, name + "/"), executable: true));
                    continue;
                }
                var entry = Normalise(new UstarTarEntry(TarEntryType.RegularFile, name), IsExecutable((FileInfo)info));
                var bytes = File.ReadAllBytes(info.FullName);
                contents.Add((relative, bytes));
                using var data = new MemoryStream(bytes, writable: false);
                entry.DataStream = data;
                writer.WriteEntry(entry);
                files++;
            }
        }

        var tarBytes = tar.ToArray();
        using var gz = new MemoryStream();
        using (var zip = new GZipStream(gz, CompressionLevel.Optimal, leaveOpen: true))
            zip.Write(tarBytes);
        // The trigger hashes the tar, not the gzip bytes, so only a content change replaces the
        // install step. The gzip is its stdin, though: if a runtime upgrade ever compressed it
        // differently, the step would re-run once as an update (harmless: the installer is idempotent).
        return new HostBundle(Convert.ToBase64String(gz.ToArray()), Convert.ToHexStringLower(SHA256.HashData(tarBytes)), files,
            HostCommands.BaseInputsSha256(contents),
            string.Join(' ', contents.Where(c => c.Path.StartsWith("units/", StringComparison.Ordinal) && c.Path.IndexOf('/', 6) < 0).Select(c => c.Path[6..])),
            string.Join(' ', HostStep.All.Where(s => s.CreateVerb is not null)
                .Select(s => $"{s.Name}={HostCommands.InputsSha256(HostCommands.StepInputs(s), contents)}")));
    }

    /// <summary>Directories and regular files below root, depth-first in ordinal name order; anything else is refused.</summary>
    private static IEnumerable<(string Relative, FileSystemInfo Info)> Walk(DirectoryInfo root, string prefix = "")
    {
        foreach (var item in root.EnumerateFileSystemInfos().OrderBy(i => i.Name, StringComparer.Ordinal))
        {
            var relative = prefix + item.Name;
            if (item.LinkTarget is not null)
                throw new InvalidDataException($"{item.FullName} is a symbolic link; host/ must hold only files and folders");
            switch (item)
            {
                case DirectoryInfo dir:
                    yield return (relative, dir);
                    foreach (var child in Walk(dir, relative + "/")) yield return child;
                    break;
                case FileInfo file:
                    yield return (relative, file);
                    break;
            }
        }
    }

    private static UstarTarEntry Normalise(UstarTarEntry entry, bool executable)
    {
        entry.ModificationTime = FixedMtime;
        entry.Uid = 0;
        entry.Gid = 0;
        entry.UserName = "root";
        entry.GroupName = "root";
        entry.Mode = executable
            ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
              UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute
            : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        return entry;
    }

    /// <summary>Only the owner's execute bit counts (git records no more than that).</summary>
    private static bool IsExecutable(FileInfo file) =>
        !OperatingSystem.IsWindows() && (file.UnixFileMode & UnixFileMode.UserExecute) != 0;
}

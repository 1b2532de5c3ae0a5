using System.Formats.Tar;
using System.IO.Compression;

namespace Workstation.Tests;

/// <summary>A throw-away copy of a folder.</summary>
public sealed class TempHostDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("ws-host-").FullName;

    public static TempHostDir CopyOf(string source)
    {
        var dir = new TempHostDir();
        CopyTree(source, dir.Path);
        return dir;
    }

    /// <summary>Copies files (File.Copy keeps the mode bits) and their folders.</summary>
    public static void CopyTree(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var sub in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(System.IO.Path.Combine(target, System.IO.Path.GetRelativePath(source, sub)));
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = System.IO.Path.Combine(target, System.IO.Path.GetRelativePath(source, file));
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
    }

    public string Write(string relative, string content, bool executable = false)
    {
        var target = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
        File.WriteAllText(target, content);
        File.SetUnixFileMode(target, executable ? (UnixFileMode)0b111_101_101 : (UnixFileMode)0b110_100_100);
        return target;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

public class HostBundleTests
{
    private static TempHostDir Sample()
    {
        var dir = new TempHostDir();
        dir.Write("install.sh", "#!/usr/bin/env bash\necho install\n", executable: true);
        dir.Write("bin/workstation", "#!/usr/bin/env bash\necho cli\n", executable: true);
        dir.Write("lib/common.sh", "# library\n");
        dir.Write("units/t3-serve@.service", "[Unit]\n");
        return dir;
    }

    private static List<(string Name, TarEntryType Type, UnixFileMode Mode, DateTimeOffset Mtime, int Uid, string Content)> Entries(HostBundle bundle)
    {
        using var gz = new GZipStream(new MemoryStream(Convert.FromBase64String(bundle.Base64)), CompressionMode.Decompress);
        using var reader = new TarReader(gz);
        var list = new List<(string, TarEntryType, UnixFileMode, DateTimeOffset, int, string)>();
        while (reader.GetNextEntry(copyData: true) is { } e)
        {
            var content = e.DataStream is null ? "" : new StreamReader(e.DataStream).ReadToEnd();
            list.Add((e.Name, e.EntryType, e.Mode, e.ModificationTime, e.Uid, content));
        }
        return list;
    }

    [Fact]
    public void Entries_are_sorted_under_host_with_normalised_owner_time_and_mode()
    {
        using var dir = Sample();
        var entries = Entries(HostBundle.FromDirectory(dir.Path));
        Assert.Equal(
            ["host/bin/", "host/bin/workstation", "host/install.sh", "host/lib/", "host/lib/common.sh", "host/units/", "host/units/t3-serve@.service"],
            entries.Select(e => e.Name));
        Assert.All(entries, e => Assert.Equal(HostBundle.FixedMtime, e.Mtime));
        Assert.All(entries, e => Assert.Equal(0, e.Uid));
        Assert.Equal((UnixFileMode)0b111_101_101, entries.Single(e => e.Name == "host/install.sh").Mode);
        Assert.Equal((UnixFileMode)0b110_100_100, entries.Single(e => e.Name == "host/lib/common.sh").Mode);
        Assert.Equal("#!/usr/bin/env bash\necho cli\n", entries.Single(e => e.Name == "host/bin/workstation").Content);
    }

    [Fact]
    public void The_bytes_depend_on_content_and_the_execute_bit_only()
    {
        using var dir = Sample();
        var first = HostBundle.FromDirectory(dir.Path);

        foreach (var f in Directory.EnumerateFileSystemEntries(dir.Path, "*", SearchOption.AllDirectories))
            File.SetLastWriteTimeUtc(f, new DateTime(2031, 5, 6, 7, 8, 9, DateTimeKind.Utc));
        File.SetUnixFileMode(System.IO.Path.Combine(dir.Path, "lib/common.sh"), (UnixFileMode)0b110_000_000); // group/other bits are not recorded
        var touched = HostBundle.FromDirectory(dir.Path);
        Assert.Equal(first.Base64, touched.Base64);
        Assert.Equal(first.Sha256, touched.Sha256);

        dir.Write("lib/common.sh", "# library\n", executable: true);
        Assert.NotEqual(first.Sha256, HostBundle.FromDirectory(dir.Path).Sha256);
        dir.Write("lib/common.sh", "# library, changed\n");
        Assert.NotEqual(first.Sha256, HostBundle.FromDirectory(dir.Path).Sha256);
    }

    [Fact]
    public void A_symlink_is_refused_and_a_missing_folder_is_named()
    {
        using var dir = Sample();
        File.CreateSymbolicLink(System.IO.Path.Combine(dir.Path, "lib/link.sh"), "common.sh");
        var e = Assert.Throws<InvalidDataException>(() => HostBundle.FromDirectory(dir.Path));
        Assert.Contains("link.sh", e.Message, StringComparison.Ordinal);

        var missing = System.IO.Path.Combine(dir.Path, "nope");
        Assert.Contains(missing, Assert.Throws<DirectoryNotFoundException>(() => HostBundle.FromDirectory(missing)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_repository_host_folder_packs_the_same_twice()
    {
        var a = HostBundle.FromDirectory(Repo.HostDir);
        var b = HostBundle.FromDirectory(Repo.HostDir);
        Assert.True(a.Files > 0);
        Assert.Equal(a, b);
    }
}

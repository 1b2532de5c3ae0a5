using System.Text.Json;

namespace Workstation.Roster.Report;

/// <summary>`roster access-report [ROSTER] [--status FILE]... [--previous FILE] [--format md|json|csv]`.</summary>
public static class AccessReportCli
{
    public const string Usage = "roster access-report [ROSTER] [--status FILE]... [--previous FILE] [--format md|json|csv]";

    /// <summary>A status report or a previous report is read whole: bounded like the roster.</summary>
    private const long MaxJsonBytes = 64L * 1024 * 1024;

    private sealed record Args(string Roster, List<string> Status, string? Previous, string Format);

    private static Args? Parse(IReadOnlyList<string> rest)
    {
        string? roster = null, previous = null, format = null;
        var status = new List<string>();
        for (var i = 0; i < rest.Count; i++)
        {
            var a = rest[i];
            if (a == "--status" && i + 1 < rest.Count) status.Add(rest[++i]);
            else if (a == "--previous" && i + 1 < rest.Count && previous is null) previous = rest[++i];
            else if (a == "--format" && i + 1 < rest.Count && format is null && rest[i + 1] is "md" or "json" or "csv") format = rest[++i];
            else if (!a.StartsWith('-') && roster is null) roster = a;
            else return null;
        }
        return new Args(roster ?? "roster.yaml", status, previous, format ?? "md");
    }

    public static int Run(IReadOnlyList<string> rest, TextWriter stdout, TextWriter stderr, DateTimeOffset? now = null)
    {
        if (Parse(rest) is not { } args)
        {
            stderr.WriteLine("usage: " + Usage);
            return 2;
        }
        var result = RosterLoader.LoadFile(args.Roster);
        if (!result.Ok)
        {
            foreach (var e in result.Errors) stderr.WriteLine(e);
            stderr.WriteLine($"{result.Errors.Count} error(s); nothing was changed.");
            return 1;
        }
        var hosts = new List<HostStatus>();
        JsonElement? previous = null;
        try
        {
            foreach (var file in args.Status)
            {
                var report = ReadJson(file, "a `workstation status --json` report");
                if (!report.TryGetProperty("people", out var people) || people.ValueKind != JsonValueKind.Array ||
                    people.EnumerateArray().Any(p => p.ValueKind != JsonValueKind.Object || AccessReports.Str(p, "user") is null))
                    throw new InputException($"{file}: not a `workstation status --json` report: no people[] with a user each");
                var host = Path.GetFileNameWithoutExtension(file);
                if (hosts.Any(h => h.Host == host)) throw new InputException($"{file}: a second status named {host} (one file per host, named after it)");
                hosts.Add(new HostStatus(host, report));
            }
            if (args.Previous is { } prev) previous = ReadJson(prev, "a previous `roster access-report --format json`");
        }
        catch (InputException e)
        {
            stderr.WriteLine($"roster access-report: {e.Message}");
            return 2;
        }

        RosterHistory history;
        try
        {
            history = RosterHistories.Read(args.Roster, File.ReadAllText(args.Roster));
        }
        catch (GitException e)
        {
            stderr.WriteLine($"roster access-report: reading the roster's history: {e.Message}");
            return 2;
        }
        AccessReportModel model;
        try
        {
            model = AccessReports.Build(Derivation.Derive(result.Model!), Path.GetFileName(args.Roster), history, hosts, previous, now ?? DateTimeOffset.UtcNow);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
        {
            // Drift reads every field the host writes: a status missing one is not a status.
            stderr.WriteLine($"roster access-report: a --status file is not a complete `workstation status --json` report: {e.Message}");
            return 2;
        }
        stdout.Write(args.Format switch
        {
            "json" => AccessReportFormats.Json(model),
            "csv" => AccessReportFormats.Csv(model),
            _ => AccessReportFormats.Markdown(model),
        });
        return 0;
    }

    private sealed class InputException(string message) : Exception(message);

    private static JsonElement ReadJson(string file, string what)
    {
        try
        {
            var info = new FileInfo(file);
            if (!info.Exists) throw new InputException($"{file}: no such file");
            if (info.Length > MaxJsonBytes) throw new InputException($"{file}: {info.Length} bytes; the limit is {MaxJsonBytes}");
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InputException($"{file}: not {what}: not a JSON object");
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InputException($"{file}: not {what}: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"{file}: cannot read it: {e.Message}");
        }
    }
}

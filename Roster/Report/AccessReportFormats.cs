using System.Globalization;
using System.Text;
using System.Text.Json;
using static Workstation.Roster.JsonArrays;

namespace Workstation.Roster.Report;

/// <summary>
/// The report as Markdown (a review issue), JSON (the next run's --previous, tools) and CSV (a
/// spreadsheet). Text from git (authors, subjects, trailers) is anyone's: it is escaped for each
/// format, so a commit message can't add a table row, a mention, a link or a spreadsheet formula.
/// </summary>
public static class AccessReportFormats
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    // --- JSON ------------------------------------------------------------------------------------

    public static string Json(AccessReportModel r)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("generated", Time(r.Generated));
            w.WriteString("roster", r.Roster);
            w.WriteString("head", r.Head);
            w.WriteString("history_note", r.HistoryNote);
            Strings(w, "hosts", r.HostNames);
            Strings(w, "flags", r.Flags);
            // The sign-off: the reviewers add their names here in the month's sign-off PR (docs/access-review.md).
            Strings(w, "reviewed_by", []);
            Objects(w, "people", r.People, p =>
            {
                w.WriteString("os_user", p.OsUser);
                w.WriteString("state", "active");
                w.WriteString("tier", p.Tier);
                Strings(w, "host_groups", p.HostGroups);
                Strings(w, "services", p.Services);
                w.WriteStartObject("ports");
                w.WriteNumber("t3", p.Ports.T3);
                w.WriteNumber("playwright", p.Ports.Playwright);
                w.WriteEndObject();
                Strings(w, "secrets", p.Secrets);
                Strings(w, "kubernetes", p.Kubernetes);
                Strings(w, "vault", p.Vault);
                Strings(w, "authentik", p.Authentik);
                Strings(w, "external_bindings", p.ExternalBindings);
                Evidence(w, p.Evidence);
                Hosts(w, p.Hosts);
                Strings(w, "flags", p.Flags);
            });
            Objects(w, "leavers", r.Leavers, l =>
            {
                w.WriteString("os_user", l.OsUser);
                w.WriteString("state", l.State);
                w.WritePropertyName("retired");
                Commit(w, l.Evidence?.Since);
                Evidence(w, l.Evidence);
                Hosts(w, l.Hosts);
                Objects(w, "time_to_revoke", l.TimeToRevoke, t =>
                {
                    w.WriteString("host", t.Key);
                    w.WriteNumber("seconds", (long)Math.Round(t.Value.TotalSeconds));
                    w.WriteString("text", Duration(t.Value));
                });
                Strings(w, "still_held", l.StillHeld);
                Strings(w, "flags", l.Flags);
            });
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void Evidence(Utf8JsonWriter w, EntryEvidence? e)
    {
        w.WriteStartObject("evidence");
        w.WritePropertyName("last_change");
        Commit(w, e?.LastChange);
        w.WritePropertyName("since");
        Commit(w, e?.Since);
        w.WriteBoolean("uncommitted", e?.Uncommitted ?? false);
        w.WriteEndObject();
    }

    private static void Commit(Utf8JsonWriter w, CommitInfo? c)
    {
        if (c is null)
        {
            w.WriteNullValue();
            return;
        }
        w.WriteStartObject();
        w.WriteString("commit", c.Sha);
        w.WriteBoolean("merge", c.IsMerge);
        w.WriteString("author", c.Author);
        w.WriteString("author_email", c.AuthorEmail);
        w.WriteString("authored", Time(c.AuthorDate));
        w.WriteString("committed", Time(c.CommitDate));
        w.WriteString("subject", c.Subject);
        if (c.Pr is { } pr) w.WriteNumber("pr", pr);
        else w.WriteNull("pr");
        Strings(w, "reviewed_by", c.ReviewedBy);
        w.WriteEndObject();
    }

    private static void Hosts(Utf8JsonWriter w, IReadOnlyList<HostView> views) => Objects(w, "hosts", views, v =>
        {
            w.WriteString("host", v.Host);
            w.WriteString("state", v.State);
            w.WriteString("tier", v.Tier);
            Strings(w, "groups", v.Groups);
            w.WriteString("last_login", v.LastLogin?.At is { } login ? Time(login) : null);
            w.WriteBoolean("last_login_reported", v.LastLogin is not null);
            w.WriteString("cut_at", v.CutAt is { } at ? Time(at) : null);
            if (v.CutHolds is { } holds) w.WriteBoolean("cut_holds", holds);
            else w.WriteNull("cut_holds");
            w.WriteStartObject("cut");
            foreach (var (k, val) in v.Cut) w.WriteString(k, val);
            w.WriteEndObject();
            Strings(w, "mismatches", v.Mismatches);
        });

    // --- Markdown --------------------------------------------------------------------------------

    public static string Markdown(AccessReportModel r)
    {
        var sb = new StringBuilder();
        void L(string line = "") => sb.Append(line).Append('\n');
        L($"# Access review: {Md(r.Roster)}");
        L();
        L($"Generated {Time(r.Generated)} from {(r.Head is null ? "a roster outside git" : $"HEAD `{AccessReports.Short(r.Head)}`")}" +
          (r.HostNames.Count == 0 ? "; no host status given, so the roster's side only." : $"; live state from {string.Join(", ", r.HostNames.Select(Md))}."));
        if (r.HistoryNote is not null) L($"\nNo evidence from git: {Md(r.HistoryNote)}.");
        var flagged = r.Flags.Count + r.People.Sum(p => p.Flags.Count + p.Hosts.Sum(h => h.Mismatches.Count)) + r.Leavers.Sum(l => l.Flags.Count + l.StillHeld.Count);
        L();
        L($"{r.People.Count} active, {r.Leavers.Count} leaver(s), {flagged} finding(s) to look at.");
        if (r.Flags.Count > 0)
        {
            L();
            L("## Findings");
            L();
            foreach (var f in r.Flags) L($"- **{Md(f)}**");
        }

        L();
        L($"## Who can reach what ({r.People.Count})");
        L();
        L("| person | tier | last change | PR | merged by | reviewed by | findings |");
        L("| --- | --- | --- | --- | --- | --- | ---: |");
        foreach (var p in r.People)
        {
            var c = p.Evidence?.LastChange;
            L($"| {Md(p.OsUser)} | {p.Tier} | {CommitCell(p.Evidence)} | {(c?.Pr is { } pr ? $"#{pr}" : "")} | {Md(c?.Author ?? "")} | {Md(string.Join(", ", c?.ReviewedBy ?? []))} | {p.Flags.Count + p.Hosts.Sum(h => h.Mismatches.Count)} |");
        }
        foreach (var p in r.People)
        {
            L();
            L($"### {Md(p.OsUser)}");
            L();
            L($"- tier {p.Tier}; host groups {List(p.HostGroups)}; ports t3 {p.Ports.T3}, playwright {p.Ports.Playwright}");
            L($"- services: {List(p.Services)}");
            L($"- shared secrets held (names): {List(p.Secrets)}");
            L($"- Kubernetes: {List(p.Kubernetes)}");
            L($"- Vault: {List(p.Vault)}");
            L($"- Authentik: {List(p.Authentik)}");
            L($"- external bindings: {List(p.ExternalBindings)}");
            L($"- evidence: {EvidenceText(p.Evidence)}");
            foreach (var h in p.Hosts) L($"- host {Md(h.Host)}: {HostText(h)}");
            foreach (var f in p.Flags) L($"- **{Md(f)}**");
        }

        L();
        L($"## Leavers ({r.Leavers.Count})");
        if (r.Leavers.Count > 0)
        {
            L();
            L("| person | state | retired (merge) | PR | cut on the host | time to revoke | still held |");
            L("| --- | --- | --- | --- | --- | --- | ---: |");
            foreach (var l in r.Leavers)
            {
                var since = l.Evidence?.Since;
                var cuts = string.Join(", ", l.Hosts.Where(h => h.CutAt is not null).Select(h => $"{Md(h.Host)} {Time(h.CutAt!.Value)}"));
                var ttr = string.Join(", ", l.TimeToRevoke.Select(t => $"{Md(t.Key)} {Duration(t.Value)}"));
                L($"| {Md(l.OsUser)} | {l.State} | {(since is null ? (l.Evidence?.UncommittedSince == true ? "uncommitted" : "") : Time(since.CommitDate))} | {(since?.Pr is { } pr ? $"#{pr}" : "")} | {cuts} | {ttr} | {l.StillHeld.Count} |");
            }
            foreach (var l in r.Leavers)
            {
                L();
                L($"### {Md(l.OsUser)} ({l.State})");
                L();
                L($"- retired by: {CommitText(l.Evidence?.Since, l.Evidence?.UncommittedSince ?? false)}");
                L($"- evidence: {EvidenceText(l.Evidence)}");
                foreach (var h in l.Hosts)
                {
                    L($"- host {Md(h.Host)}: {HostText(h)}");
                    if (h.Cut.Count > 0) L($"  - cut probes: {string.Join(", ", h.Cut.Select(c => $"{Md(c.Key)} {Md(c.Value)}"))}");
                }
                foreach (var (host, span) in l.TimeToRevoke)
                    L($"- time to revoke on {Md(host)}: {Duration(span)}{(span < TimeSpan.Zero ? " (cut before the retire merged: an emergency cut)" : "")}");
                foreach (var s in l.StillHeld) L($"- still held: {Md(s)}");
                foreach (var f in l.Flags) L($"- **{Md(f)}**");
            }
        }
        return sb.ToString();
    }

    private static string List(IReadOnlyList<string> items) => items.Count == 0 ? "none" : string.Join("; ", items.Select(Md));

    private static string CommitCell(EntryEvidence? e) =>
        e is null ? "" : e.Uncommitted ? "uncommitted" : e.LastChange is { } c ? $"`{AccessReports.Short(c.Sha)}` {Time(c.CommitDate)}" : "";

    private static string EvidenceText(EntryEvidence? e) =>
        e is null ? "none (no git history)" : e.Uncommitted ? "changed on disk, not committed" : $"last changed in {CommitText(e.LastChange, false)}";

    private static string CommitText(CommitInfo? c, bool uncommitted)
    {
        if (c is null) return uncommitted ? "an uncommitted change" : "unknown";
        var sb = new StringBuilder($"`{AccessReports.Short(c.Sha)}`");
        sb.Append(c.IsMerge ? $", merged by {Md(c.Author)} {Time(c.CommitDate)}" : $", by {Md(c.Author)} {Time(c.CommitDate)}");
        if (c.Pr is { } pr) sb.Append(Inv, $", PR #{pr}");
        if (c.ReviewedBy.Count > 0) sb.Append($", reviewed by {string.Join(", ", c.ReviewedBy.Select(Md))}");
        sb.Append($": {Md(c.Subject)}");
        return sb.ToString();
    }

    private static string HostText(HostView h)
    {
        var parts = new List<string> { Md(h.State) };
        if (h.Tier is not null) parts.Add($"tier {Md(h.Tier)}");
        parts.Add(h.LastLogin switch
        {
            null => "last login not reported",
            { At: { } login } => $"last login {Time(login)}",
            _ => "no login recorded",
        });
        if (h.CutAt is { } at) parts.Add($"cut at {Time(at)}");
        if (h.CutHolds is { } holds && h.State != "active") parts.Add(holds ? "the cut holds" : "**the cut does not hold**");
        parts.Add(h.Mismatches.Count == 0 ? "matches the roster" : $"**{h.Mismatches.Count} mismatch(es)**: {string.Join("; ", h.Mismatches.Select(Md))}");
        return string.Join(", ", parts);
    }

    /// <summary>
    /// Free text in a Markdown line: no line break, no HTML, no table cell end, no link, no
    /// emphasis, no mention (an author called "@team" must not notify anyone).
    /// </summary>
    public static string Md(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (char.IsControl(c)) sb.Append(' ');
            else if (c is '\\' or '`' or '*' or '_' or '[' or ']' or '<' or '>' or '|' or '@' or '~' or '&') sb.Append('\\').Append(c);
            else sb.Append(c);
        }
        return sb.ToString();
    }

    // --- CSV -------------------------------------------------------------------------------------

    private static readonly string[] CsvColumns =
    [
        "os_user", "state", "tier", "host_groups", "services", "t3_port", "playwright_port", "secrets", "kubernetes", "vault", "authentik",
        "external_bindings", "last_change_commit", "last_change_author", "last_change_date", "pr", "reviewed_by", "retired_commit", "retired_date",
        "hosts", "last_login", "cut_at", "time_to_revoke_seconds", "still_held", "mismatches", "flags",
    ];

    /// <summary>One row per person, leavers after the active people; lists joined with "; ".</summary>
    public static string Csv(AccessReportModel r)
    {
        var sb = new StringBuilder();
        Row(sb, CsvColumns);
        foreach (var p in r.People)
        {
            var c = p.Evidence?.LastChange;
            Row(sb, [p.OsUser, "active", p.Tier, J(p.HostGroups), J(p.Services), N(p.Ports.T3), N(p.Ports.Playwright), J(p.Secrets), J(p.Kubernetes), J(p.Vault),
                J(p.Authentik), J(p.ExternalBindings), p.Evidence?.Uncommitted == true ? "uncommitted" : c?.Sha ?? "", c?.Author ?? "", c is null ? "" : Time(c.CommitDate),
                c?.Pr is { } pr ? N(pr) : "", J(c?.ReviewedBy ?? []), "", "",
                J(p.Hosts.Select(h => $"{h.Host}: {h.State}")), Logins(p.Hosts), "", "", "",
                J(p.Hosts.SelectMany(h => h.Mismatches.Select(m => $"{h.Host}: {m}"))), J(p.Flags)]);
        }
        foreach (var l in r.Leavers)
        {
            var c = l.Evidence?.LastChange;
            var since = l.Evidence?.Since;
            Row(sb, [l.OsUser, l.State, "", "", "", "", "", "", "", "", "", "", c?.Sha ?? "", c?.Author ?? "", c is null ? "" : Time(c.CommitDate),
                since?.Pr is { } pr ? N(pr) : "", J(since?.ReviewedBy ?? []), since?.Sha ?? "", since is null ? "" : Time(since.CommitDate),
                J(l.Hosts.Select(h => $"{h.Host}: {h.State}")), Logins(l.Hosts),
                J(l.Hosts.Where(h => h.CutAt is not null).Select(h => $"{h.Host}: {Time(h.CutAt!.Value)}")),
                J(l.TimeToRevoke.Select(t => $"{t.Key}: {(long)Math.Round(t.Value.TotalSeconds)}")), J(l.StillHeld),
                J(l.Hosts.SelectMany(h => h.Mismatches.Select(m => $"{h.Host}: {m}"))), J(l.Flags)]);
        }
        return sb.ToString();

        static string J(IEnumerable<string> items) => string.Join("; ", items);
        static string N(long n) => n.ToString(Inv);
        // Each host's last login: its time, or "none" when the host records none (a host that doesn't report it is left out).
        static string Logins(IReadOnlyList<HostView> hosts) =>
            J(hosts.Where(h => h.LastLogin is not null).Select(h => $"{h.Host}: {(h.LastLogin!.At is { } login ? Time(login) : "none")}"));
    }

    private static void Row(StringBuilder sb, IReadOnlyList<string> cells)
    {
        for (var i = 0; i < cells.Count; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(Cell(cells[i]));
        }
        sb.Append("\r\n");
    }

    /// <summary>RFC 4180 quoting; a cell a spreadsheet would run as a formula gets a leading quote.</summary>
    public static string Cell(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r') value = "'" + value;
        return value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    // --- shared ----------------------------------------------------------------------------------

    private static string Time(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", Inv);

    /// <summary>"2 d 3 h", "5 min 2 s", "-40 s" (a cut before the merge).</summary>
    public static string Duration(TimeSpan span)
    {
        var sign = span < TimeSpan.Zero ? "-" : "";
        var s = span.Duration();
        var text = s.TotalDays >= 1 ? $"{(int)s.TotalDays} d {s.Hours} h"
            : s.TotalHours >= 1 ? $"{(int)s.TotalHours} h {s.Minutes} min"
            : s.TotalMinutes >= 1 ? $"{(int)s.TotalMinutes} min {s.Seconds} s"
            : $"{(int)s.TotalSeconds} s";
        return sign + text;
    }
}

namespace Workstation.Roster.Report;

/// <summary>
/// A roster's entries as text, without a full parse: `admin`, `users/NAME` and `retired/NAME`,
/// each its lines with blank and comment-only lines left out and trailing spaces trimmed. Cheap
/// enough to run on every version in a year of history. Versions are compared byte for byte,
/// never by a hash: a pushed history is anyone's, and a made collision would hide a change. Cheap enough to run on every version in a year of history; two
/// versions of an entry with the same fingerprint are the same text. A section written in flow
/// style (`retired: { bob: {...} }`) is read with the YAML tree instead, so it is still split
/// per person.
/// </summary>
public static class RosterEntries
{
    public const string Admin = "admin";

    public static string UserKey(string osUser) => "users/" + osUser;

    public static string RetiredKey(string osUser) => "retired/" + osUser;

    /// <summary>The entry being read, its normalized lines one after the other (reused: one per thread).</summary>
    [ThreadStatic]
    private static byte[]? _scratch;

    /// <summary>Sees one entry: its key and its normalized text (valid only during the call).</summary>
    public delegate void EntryVisitor(string key, ReadOnlySpan<byte> text);

    /// <summary>Every entry's normalized text, copied, by key.</summary>
    public static Dictionary<string, byte[]> Entries(string text)
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        Scan(System.Text.Encoding.UTF8.GetBytes(text), (key, entry) => result[key] = entry.ToArray());
        return result;
    }

    /// <summary>Visits each entry of a version as git stores it (UTF-8 bytes, never decoded but for a flow-style section).</summary>
    public static void Scan(ReadOnlySpan<byte> text, EntryVisitor visit)
    {
        string? section = null, key = null;
        var entryIndent = -1;
        var buf = _scratch ??= new byte[1 << 16];
        var used = 0;
        var flow = false;
        var span = text;
        while (span.Length > 0)
        {
            var nl = span.IndexOf((byte)'\n');
            var line = (nl < 0 ? span : span[..nl]).TrimEnd(Blank);
            span = nl < 0 ? [] : span[(nl + 1)..];
            var body = line.TrimStart((byte)' ');
            if (body.IsEmpty || body[0] == (byte)'#') continue;
            var indent = line.Length - body.Length;
            if (indent == 0)
            {
                Finish();
                var colon = body.IndexOf((byte)':');
                var name = colon < 0 ? body : body[..colon];
                var rest = colon < 0 ? [] : StripComment(body[(colon + 1)..]);
                section = System.Text.Encoding.UTF8.GetString(name);
                entryIndent = -1;
                if (section == Admin)
                {
                    key = Admin;
                    used = Append(ref buf, 0, rest);
                }
                else if (section is "users" or "retired" && !rest.IsEmpty && !rest.SequenceEqual("{}"u8)) flow = true;
                continue;
            }
            if (section == Admin)
            {
                used = Append(ref buf, used, line);
                continue;
            }
            if (section is not ("users" or "retired")) continue;
            if (entryIndent < 0) entryIndent = indent;
            if (indent == entryIndent)
            {
                Finish();
                var colon = body.IndexOf((byte)':');
                var name = (colon < 0 ? body : body[..colon]).Trim(Blank).Trim("\"'"u8);
                key = section + "/" + System.Text.Encoding.UTF8.GetString(name);
                used = Append(ref buf, 0, colon < 0 ? [] : body[(colon + 1)..]);
            }
            else if (key is not null) used = Append(ref buf, used, line);
        }
        Finish();
        if (flow) FlowSections(System.Text.Encoding.UTF8.GetString(text), visit);

        void Finish()
        {
            if (key is not null) visit(key, buf.AsSpan(0, used));
            key = null;
        }
    }

    private static ReadOnlySpan<byte> Blank => " \t\r"u8;

    private static ReadOnlySpan<byte> StripComment(ReadOnlySpan<byte> rest)
    {
        var hash = rest.IndexOf(" #"u8);
        return (hash < 0 ? rest : rest[..hash]).Trim(Blank);
    }

    /// <summary>Appends a line and its newline at <paramref name="at"/>, growing the buffer; returns the new length.</summary>
    private static int Append(ref byte[] buf, int at, ReadOnlySpan<byte> line)
    {
        if (at + line.Length + 1 > buf.Length)
        {
            Array.Resize(ref buf, Math.Max(buf.Length * 2, at + line.Length + 1));
            _scratch = buf;
        }
        line.CopyTo(buf.AsSpan(at));
        buf[at + line.Length] = (byte)'\n';
        return at + line.Length + 1;
    }

    /// <summary>users: or retired: written inline: each entry's canonical form from the YAML tree.</summary>
    private static void FlowSections(string text, EntryVisitor visit)
    {
        var root = YamlTree.Parse(text, (_, _, _) => { }) as YMap;
        if (root is null) return;
        foreach (var (k, v) in root.Entries)
        {
            if (k.Value is not ("users" or "retired") || v is not YMap people) continue;
            foreach (var (name, entry) in people.Entries)
                visit(k.Value + "/" + name.Value, System.Text.Encoding.UTF8.GetBytes(Canonical(entry) + "\n"));
        }
    }

    private static string Canonical(YNode node) => node switch
    {
        YScalar s => s.Value,
        YSeq q => "[" + string.Join(",", q.Items.Select(Canonical)) + "]",
        YMap m => "{" + string.Join(",", m.Entries.Select(e => e.Key.Value + ":" + Canonical(e.Value))) + "}",
        _ => "",
    };
}

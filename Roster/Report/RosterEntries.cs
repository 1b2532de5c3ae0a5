namespace Workstation.Roster.Report;

/// <summary>
/// A roster's entries as text fingerprints, without a full parse: `admin`, `users/NAME` and
/// `retired/NAME`, each the 64-bit FNV-1a of its lines (blank and comment-only lines left out,
/// trailing spaces trimmed). Cheap enough to run on every version in a year of history; two
/// versions of an entry with the same fingerprint are the same text. A section written in flow
/// style (`retired: { bob: {...} }`) is read with the YAML tree instead, so it is still split
/// per person.
/// </summary>
public static class RosterEntries
{
    public const string Admin = "admin";

    public static string UserKey(string osUser) => "users/" + osUser;

    public static string RetiredKey(string osUser) => "retired/" + osUser;

    private const ulong Offset = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    public static Dictionary<string, ulong> Fingerprints(string text) => Fingerprints(System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>The fingerprints of a version as git stores it (UTF-8 bytes: hashed as they are, never decoded but for a flow-style section).</summary>
    public static Dictionary<string, ulong> Fingerprints(ReadOnlySpan<byte> text)
    {
        var result = new Dictionary<string, ulong>(StringComparer.Ordinal);
        string? section = null, key = null;
        var entryIndent = -1;
        var hash = Offset;
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
                    hash = Add(Offset, rest);
                }
                else if (section is "users" or "retired" && !rest.IsEmpty && !rest.SequenceEqual("{}"u8)) flow = true;
                continue;
            }
            if (section == Admin)
            {
                hash = Add(hash, line);
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
                hash = Add(Offset, colon < 0 ? [] : body[(colon + 1)..]);
            }
            else if (key is not null) hash = Add(hash, line);
        }
        Finish();
        if (flow) FlowSections(System.Text.Encoding.UTF8.GetString(text), result);
        return result;

        void Finish()
        {
            if (key is not null) result[key] = hash;
            key = null;
        }
    }

    private static ReadOnlySpan<byte> Blank => " \t\r"u8;

    private static ReadOnlySpan<byte> StripComment(ReadOnlySpan<byte> rest)
    {
        var hash = rest.IndexOf(" #"u8);
        return (hash < 0 ? rest : rest[..hash]).Trim(Blank);
    }

    private static ulong Add(ulong hash, ReadOnlySpan<byte> line)
    {
        foreach (var c in line)
        {
            hash = (hash ^ c) * Prime;
        }
        return (hash ^ '\n') * Prime;
    }

    private static ulong Add(ulong hash, string text) => Add(hash, System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>users: or retired: written inline: each entry's canonical form from the YAML tree.</summary>
    private static void FlowSections(string text, Dictionary<string, ulong> result)
    {
        var root = YamlTree.Parse(text, (_, _, _) => { }) as YMap;
        if (root is null) return;
        foreach (var (k, v) in root.Entries)
        {
            if (k.Value is not ("users" or "retired") || v is not YMap people) continue;
            foreach (var (name, entry) in people.Entries)
                result[k.Value + "/" + name.Value] = Add(Offset, Canonical(entry));
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

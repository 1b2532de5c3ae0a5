using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Workstation.Roster;

/// <summary>A position in the roster file (1-based line and column).</summary>
public readonly record struct Loc(int Line, int Column);

/// <summary>
/// A minimal YAML tree that keeps every node's position. We build it from parser
/// events ourselves so that anchors, aliases, tags and duplicate keys are seen
/// and refused instead of silently resolved.
/// </summary>
internal abstract record YNode(Loc At);

internal sealed record YScalar(Loc At, string Value, bool Plain) : YNode(At);

/// <param name="Refused">Keys whose value was refused (and reported), so they aren't also reported missing.</param>
internal sealed record YMap(Loc At, IReadOnlyList<KeyValuePair<YScalar, YNode>> Entries, IReadOnlySet<string> Refused) : YNode(At);

internal sealed record YSeq(Loc At, IReadOnlyList<YNode> Items) : YNode(At);

internal static class YamlTree
{
    private const int MaxDepth = 16;
    private const int MaxScalarLength = 1024;

    /// <summary>Parses one YAML document. Returns null (with errors added) when it can't.</summary>
    public static YNode? Parse(string text, Action<Loc, string, string> error)
    {
        var parser = new Parser(new StringReader(text));
        try
        {
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
            {
                error(new Loc(1, 1), "(file)", "the roster is empty");
                return null;
            }
            parser.Consume<DocumentStart>();
            var root = ReadNode(parser, 0, new PathStack(), error);
            parser.Consume<DocumentEnd>();
            if (!parser.Accept<StreamEnd>(out _))
            {
                var at = LocOf(parser.Current!.Start);
                error(at, "(file)", "only one YAML document is allowed");
                return null;
            }
            return root;
        }
        catch (TooDeepException)
        {
            return null;
        }
        catch (YamlException e)
        {
            var message = FirstLine(e.InnerException?.Message ?? e.Message);
            // YamlDotNet places a tab-indentation error at the start of the enclosing mapping; point at the tab.
            var at = message.Contains("tab", StringComparison.Ordinal) && FirstIndentTab(text) is { } tab ? tab : LocOf(e.Start);
            error(at, "(yaml)", "not valid YAML: " + message);
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this on some malformed input (e.g. ": {\no") instead of a
            // YamlException: report it, at the last event it did read.
            error(parser.Current is { } last ? LocOf(last.End) : new Loc(1, 1), "(yaml)", "not valid YAML: the parser could not read past this point");
            return null;
        }
    }

    private static YNode? ReadNode(IParser parser, int depth, PathStack path, Action<Loc, string, string> error)
    {
        var ev = parser.Current ?? throw new YamlException("unexpected end of input");
        var at = LocOf(ev.Start);
        if (depth > MaxDepth)
        {
            error(at, path.ToString(), $"nesting deeper than {MaxDepth} levels");
            throw new TooDeepException();
        }
        switch (ev)
        {
            case AnchorAlias alias:
                parser.MoveNext();
                error(at, path.ToString(), $"YAML alias '*{alias.Value}' is not allowed: anchors and aliases can smuggle duplicate entries");
                return null;
            case NodeEvent { Anchor.IsEmpty: false } anchored:
                error(at, path.ToString(), $"YAML anchor '&{anchored.Anchor}' is not allowed: anchors and aliases can smuggle duplicate entries");
                Skip(parser);
                return null;
            case NodeEvent { Tag.IsEmpty: false, Tag.IsNonSpecific: false } tagged:
                error(at, path.ToString(), $"YAML tag '{tagged.Tag}' is not allowed");
                Skip(parser);
                return null;
            case Scalar scalar:
                parser.MoveNext();
                if (scalar.Value.Length > MaxScalarLength)
                {
                    error(at, path.ToString(), $"value longer than {MaxScalarLength} characters");
                    return null;
                }
                return new YScalar(at, scalar.Value, scalar.Style == ScalarStyle.Plain);
            case SequenceStart:
                {
                    parser.MoveNext();
                    var items = new List<YNode>();
                    while (!parser.Accept<SequenceEnd>(out _))
                    {
                        path.PushIndex(items.Count);
                        var item = ReadNode(parser, depth + 1, path, error);
                        path.Pop();
                        if (item is not null) items.Add(item);
                    }
                    parser.MoveNext();
                    return new YSeq(at, items);
                }
            case MappingStart:
                {
                    parser.MoveNext();
                    var entries = new List<KeyValuePair<YScalar, YNode>>();
                    var seen = new Dictionary<string, Loc>(StringComparer.Ordinal);
                    HashSet<string>? refused = null;
                    while (!parser.Accept<MappingEnd>(out _))
                    {
                        var keyNode = ReadNode(parser, depth + 1, path, error);
                        if (keyNode is YScalar k) path.PushKey(k.Value);
                        var value = ReadNode(parser, depth + 1, path, error);
                        if (keyNode is YScalar) path.Pop();
                        if (keyNode is not YScalar key)
                        {
                            if (keyNode is not null) error(keyNode.At, path.ToString(), "mapping keys must be plain strings");
                            continue;
                        }
                        // YamlDotNet places an empty key (a line starting with ':') at the mapping's start; its value is where it stands.
                        if (key is { Value.Length: 0, Plain: true } && value is not null) key = key with { At = value.At };
                        if (seen.TryGetValue(key.Value, out var first))
                        {
                            path.PushKey(key.Value);
                            error(key.At, path.ToString(), $"duplicate key '{key.Value}' (first defined at line {first.Line})");
                            path.Pop();
                            continue;
                        }
                        seen[key.Value] = key.At;
                        if (value is not null) entries.Add(new(key, value));
                        else (refused ??= new HashSet<string>(StringComparer.Ordinal)).Add(key.Value);
                    }
                    parser.MoveNext();
                    return new YMap(at, entries, refused ?? NoKeys);
                }
            default:
                throw new YamlException(ev.Start, ev.End, $"unexpected {ev.GetType().Name}");
        }
    }

    private sealed class TooDeepException : Exception;

    private static readonly IReadOnlySet<string> NoKeys = new HashSet<string>();

    /// <summary>Where the reader is ("users.alice.ports", "(root)[0]"), made into text only for an error.</summary>
    private sealed class PathStack
    {
        private readonly List<(string? Key, int Index)> _parts = [];

        public void PushKey(string key) => _parts.Add((key, 0));

        public void PushIndex(int index) => _parts.Add((null, index));

        public void Pop() => _parts.RemoveAt(_parts.Count - 1);

        public override string ToString()
        {
            var sb = new StringBuilder();
            foreach (var (key, index) in _parts)
            {
                if (key is null) (sb.Length == 0 ? sb.Append("(root)") : sb).Append('[').Append(index).Append(']');
                else (sb.Length == 0 ? sb : sb.Append('.')).Append(Key(key));
            }
            return sb.Length == 0 ? "(root)" : sb.ToString();
        }
    }

    /// <summary>A key as it appears in a field path; the empty key is shown as "".</summary>
    public static string Key(string key) => key.Length == 0 ? "\"\"" : key;

    private static void Skip(IParser parser)
    {
        var depth = 0;
        do
        {
            var ev = parser.Current!;
            depth += ev.NestingIncrease;
            parser.MoveNext();
        } while (depth > 0);
    }

    private static Loc? FirstIndentTab(string text)
    {
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var indent = lines[i].Length - lines[i].TrimStart(' ', '\t').Length;
            var tab = lines[i].IndexOf('\t', 0, indent);
            if (tab >= 0) return new Loc(i + 1, tab + 1);
        }
        return null;
    }

    private static Loc LocOf(Mark mark) => new((int)mark.Line, (int)mark.Column);

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}

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

internal sealed record YMap(Loc At, IReadOnlyList<KeyValuePair<YScalar, YNode>> Entries) : YNode(At);

internal sealed record YSeq(Loc At, IReadOnlyList<YNode> Items) : YNode(At);

internal static class YamlTree
{
    private const int MaxDepth = 16;
    private const int MaxScalarLength = 1024;

    /// <summary>Parses one YAML document. Returns null (with errors added) when it can't.</summary>
    public static YNode? Parse(string text, Action<Loc, string, string> error)
    {
        try
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
            {
                error(new Loc(1, 1), "(file)", "the roster is empty");
                return null;
            }
            parser.Consume<DocumentStart>();
            var root = ReadNode(parser, 0, "(root)", error);
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
            error(LocOf(e.Start), "(yaml)", "not valid YAML: " + FirstLine(e.InnerException?.Message ?? e.Message));
            return null;
        }
    }

    private static YNode? ReadNode(IParser parser, int depth, string path, Action<Loc, string, string> error)
    {
        var ev = parser.Current ?? throw new YamlException("unexpected end of input");
        var at = LocOf(ev.Start);
        if (depth > MaxDepth)
        {
            error(at, path, $"nesting deeper than {MaxDepth} levels");
            throw new TooDeepException();
        }
        switch (ev)
        {
            case AnchorAlias alias:
                parser.MoveNext();
                error(at, path, $"YAML alias '*{alias.Value}' is not allowed: anchors and aliases can smuggle duplicate entries");
                return null;
            case NodeEvent { Anchor.IsEmpty: false } anchored:
                error(at, path, $"YAML anchor '&{anchored.Anchor}' is not allowed: anchors and aliases can smuggle duplicate entries");
                Skip(parser);
                return null;
            case NodeEvent { Tag.IsEmpty: false, Tag.IsNonSpecific: false } tagged:
                error(at, path, $"YAML tag '{tagged.Tag}' is not allowed");
                Skip(parser);
                return null;
            case Scalar scalar:
                parser.MoveNext();
                if (scalar.Value.Length > MaxScalarLength)
                {
                    error(at, path, $"value longer than {MaxScalarLength} characters");
                    return null;
                }
                return new YScalar(at, scalar.Value, scalar.Style == ScalarStyle.Plain);
            case SequenceStart:
                {
                    parser.MoveNext();
                    var items = new List<YNode>();
                    while (!parser.Accept<SequenceEnd>(out _))
                    {
                        var item = ReadNode(parser, depth + 1, $"{path}[{items.Count}]", error);
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
                    while (!parser.Accept<MappingEnd>(out _))
                    {
                        var keyNode = ReadNode(parser, depth + 1, path, error);
                        var value = ReadNode(parser, depth + 1, keyNode is YScalar k ? Child(path, k.Value) : path, error);
                        if (keyNode is not YScalar key)
                        {
                            if (keyNode is not null) error(keyNode.At, path, "mapping keys must be plain strings");
                            continue;
                        }
                        if (seen.TryGetValue(key.Value, out var first))
                        {
                            error(key.At, Child(path, key.Value), $"duplicate key '{key.Value}' (first defined at line {first.Line})");
                            continue;
                        }
                        seen[key.Value] = key.At;
                        if (value is not null) entries.Add(new(key, value));
                    }
                    parser.MoveNext();
                    return new YMap(at, entries);
                }
            default:
                throw new YamlException(ev.Start, ev.End, $"unexpected {ev.GetType().Name}");
        }
    }

    private sealed class TooDeepException : Exception;

    private static string Child(string path, string key) => path == "(root)" ? key : $"{path}.{key}";

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

    private static Loc LocOf(Mark mark) => new((int)mark.Line, (int)mark.Column);

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}

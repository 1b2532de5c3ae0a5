using System.Text.Json;

namespace Workstation.Roster;

/// <summary>The named JSON arrays the roster's outputs write: of strings, and of one object an item.</summary>
public static class JsonArrays
{
    public static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    /// <summary>One object an item; <paramref name="properties"/> writes the item's properties into it.</summary>
    public static void Objects<T>(Utf8JsonWriter w, string name, IEnumerable<T> items, Action<T> properties)
    {
        w.WriteStartArray(name);
        foreach (var item in items)
        {
            w.WriteStartObject();
            properties(item);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}

using System.Globalization;
using System.Text.RegularExpressions;

namespace Workstation.Roster;

/// <summary>A section reader's result: its values, and its problems as (key, message), in the order it found them.</summary>
public sealed record Section<T>(T Value, IReadOnlyList<(string Key, string Message)> Errors)
{
    public bool Ok => Errors.Count == 0;
}

/// <summary>
/// What one section reader of the stack config reads through: only the keys its section declares,
/// each as the stack sets it or else as the key catalogue's default (<see cref="ProjectConfig"/>:
/// what Pulumi merges in for an unset key, so a run without Pulumi reads the same). Problems go
/// to one list, by key. The checks every section shares are worded here once.
/// </summary>
public sealed class SectionConfig
{
    private readonly IReadOnlyList<string> _keys;
    private readonly Func<string, string?> _get;
    private readonly List<(string Key, string Message)> _errors;

    /// <param name="keys">The section's keys (a key outside them is a programming error, not a config one).</param>
    /// <param name="get">The stack's value of a key (without the namespace), or null when unset.</param>
    /// <param name="errors">Where problems go; default: a list of this section's own.</param>
    public SectionConfig(IReadOnlyList<string> keys, Func<string, string?> get, List<(string Key, string Message)>? errors = null)
    {
        _keys = keys;
        _get = get;
        _errors = errors ?? [];
    }

    public IReadOnlyList<(string Key, string Message)> Errors => _errors;

    /// <summary>A key with the project's namespace, as messages name another key.</summary>
    public static string Full(string key) => $"{ProjectConfig.Namespace}:{key}";

    /// <summary>The stack's value, else the catalogue's default; null: unset and no default (required, or a secret).</summary>
    public string? Get(string key) =>
        _keys.Contains(key) ? _get(key) ?? ProjectConfig.DefaultOf(key)
        : throw new InvalidOperationException($"a section reader asked for '{key}', which its section does not declare");

    public Section<T> Result<T>(T value) => new(value, _errors.ToList());

    public void Add(string key, string message) => _errors.Add((key, message));

    /// <summary>A required one-line value, trimmed; "" (and the error) when unset or blank.</summary>
    public string Required(string key, string what)
    {
        var value = Get(key);
        if (string.IsNullOrWhiteSpace(value))
        {
            Add(key, $"required: {what}; set it with `pulumi config set {key} VALUE`");
            return "";
        }
        if (value.Any(char.IsControl))
            Add(key, "must be one line without control characters");
        return value.Trim();
    }

    /// <summary>A required absolute http(s) URL without credentials.</summary>
    public string Url(string key, string what)
    {
        var value = Required(key, what);
        if (value.Length > 0 && !(Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http"))
            Add(key, $"'{value}' is not an absolute http(s) URL");
        else NoCredentials(key, value);
        return value;
    }

    /// <summary>
    /// These values go into a host command line, so into plaintext state and the host's logs: a
    /// URL must not carry a password or token. The value is not echoed.
    /// </summary>
    public void NoCredentials(string key, string value)
    {
        if (Rules.CarriesCredentials(value))
            Add(key, "must not carry credentials (user:password@ or an http(s) user part): " +
                "it ends up in a command line and in plaintext state; give the host its own credentials instead");
    }

    /// <summary>An optional one-word value; unset or '' mean "not set". Pattern-checked, as they end up in paths and lookups.</summary>
    public string? Word(string key, Regex pattern, string form)
    {
        var (value, error) = StackValues.Word(Get(key), pattern, form);
        if (error is not null) Add(key, error);
        return value;
    }

    /// <summary>An on/off switch (<see cref="StackValues.Switch"/>): on unless "false"; anything else is an error.</summary>
    public bool Switch(string key)
    {
        var (on, error) = StackValues.Switch(Get(key));
        if (error is not null) Add(key, error);
        return on;
    }

    /// <summary>Whether a secret is set ('' means "none"). Its value is never echoed.</summary>
    public bool IsSet(string key) => !string.IsNullOrEmpty(Get(key));

    /// <summary>A whole number (digits only) in [min, max], or null and the error "'TEXT' is not FORM".</summary>
    public int? Number(string key, string text, int min, int max, string form)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max) return n;
        Add(key, StackValues.NotA(text, form));
        return null;
    }
}

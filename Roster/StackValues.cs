using System.Text.RegularExpressions;

namespace Workstation.Roster;

/// <summary>
/// The checks of stack config values that both the program (the sections in Roster/StackSections) and the
/// import plan (<see cref="ImportStack"/>) apply, so the two can't drift apart: one pattern and
/// one check each. Errors read "'VALUE' is not FORM"; the forms both word alike are here too.
/// </summary>
public static partial class StackValues
{
    /// <summary>edgeUser's word for "no edge account": the host gets no --edge-user (issue 24 §1).</summary>
    public const string NoEdgeUser = "none";

    public const string VaultOidcMountForm = "a plain Vault auth mount path (e.g. oidc)";
    public const string VaultAccessorForm = "a Vault mount accessor (e.g. auth_oidc_1a2b3c4d)";
    public const string AuthentikSlugForm = "an Authentik application slug (letters, digits, '-' and '_')";

    /// <summary>A value as an error shows it: each control character as \uXXXX, so the message stays one line.</summary>
    public static string Printable(string value) => string.Concat(value.Select(c => char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString()));

    /// <summary>The error for a value that does not have its form.</summary>
    public static string NotA(string value, string form) => $"'{Printable(value)}' is not {form}";

    /// <summary>An on/off switch (enableKubernetes, ...): unset, '' and "true" are on, "false" is off; anything else is an error (and on).</summary>
    public static (bool On, string? Error) Switch(string? text) => text switch
    {
        null or "" or "true" => (true, null),
        "false" => (false, null),
        _ => (true, NotA(text, "true or false")),
    };

    /// <summary>An optional one-word value: null when unset or ''; the value when it matches <paramref name="pattern"/>; else null and the error.</summary>
    public static (string? Value, string? Error) Word(string? value, Regex pattern, string form) =>
        string.IsNullOrEmpty(value) ? (null, null)
        : pattern.IsMatch(value) ? (value, null)
        : (null, NotA(value, form));

    /// <summary>A kubeconfig context name (kubeContext).</summary>
    [GeneratedRegex(@"^[A-Za-z0-9_.@:/-]{1,253}\z")]
    public static partial Regex KubeContext();

    /// <summary>A plain Vault mount or path: segments of letters, digits, '-' and '_' (vaultKvMount, vaultUsersPath, vaultOidcMount).</summary>
    [GeneratedRegex(@"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*\z")]
    public static partial Regex VaultPath();

    /// <summary>A Vault mount accessor (vaultOidcMountAccessor).</summary>
    [GeneratedRegex(@"^[A-Za-z0-9_.-]{1,128}\z")]
    public static partial Regex VaultAccessor();

    /// <summary>An Authentik application slug (authentikT3AppSlug).</summary>
    [GeneratedRegex(@"^[A-Za-z0-9_-]{1,50}\z")]
    public static partial Regex AuthentikSlug();
}

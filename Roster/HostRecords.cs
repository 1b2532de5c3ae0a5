namespace Workstation.Roster;

/// <summary>
/// The suspension record (/etc/workstation/suspended/USER): what the cut found, for the resume
/// to put back. KEY=VALUE lines; the host writes and reads it through one pair of functions
/// (account.sh), with these field names from rules.sh.
/// </summary>
public static class SuspensionRecord
{
    /// <summary>passwd -S's state before the cut: L (locked), P (usable password), NP (none).</summary>
    public const string Lock = "LOCK";

    /// <summary>The account's expiry before the cut, in days since the epoch; empty: none.</summary>
    public const string Expire = "EXPIRE";
}

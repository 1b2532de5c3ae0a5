namespace Workstation.Roster.Access;

/// <summary>
/// Names and labels shared by every object Workstation creates outside the host. Names are
/// derived only from the os_user and the role, never from list positions, so a change to
/// one user (tier, namespaces) replaces only that user's objects.
/// </summary>
public static class AccessLabels
{
    public const string ManagedByKey = "app.kubernetes.io/managed-by";
    public const string ManagedByValue = "workstation";
    public const string UserKey = "workstation/user";

    /// <summary>Prefix of every object name; the os_user follows it.</summary>
    public const string NamePrefix = "workstation";

    /// <summary>Labels of an object that belongs to one user.</summary>
    public static IReadOnlyDictionary<string, string> ForUser(string osUser) =>
        new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            [ManagedByKey] = ManagedByValue,
            [UserKey] = osUser,
        };

    /// <summary>Labels of a shared object (the power-user ClusterRole): it belongs to no single user.</summary>
    public static IReadOnlyDictionary<string, string> Shared { get; } =
        new SortedDictionary<string, string>(StringComparer.Ordinal) { [ManagedByKey] = ManagedByValue };
}

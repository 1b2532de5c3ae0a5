using Pulumi;
using Workstation.Roster;

namespace Workstation.Components;

/// <summary>Builds the whole program from a validated roster and settings; Program.cs and the tests call it.</summary>
public static class WorkstationStack
{
    /// <summary>The base component's name (a reserved os_user, so it can't clash with a user's).</summary>
    public const string BaseName = "workstation";

    /// <summary>The Authentik component's name.</summary>
    public const string AuthentikName = "workstation-authentik";

    public sealed record Result(
        WorkstationBase Base,
        AccessLayer Access,
        IReadOnlyDictionary<string, WorkstationUser> Users,
        AuthentikEdge Authentik,
        IDictionary<string, object?> Outputs);

    /// <summary>
    /// Registers the base, the shared access layer (providers, ClusterRole), one
    /// <see cref="WorkstationUser"/> per roster user and the admin, the maps step and the Authentik
    /// component. A retired user keeps a <see cref="WorkstationUser"/> in state `retired` (a
    /// disabled Vault entity, nothing else); the maps step and the Authentik group list only
    /// active people. Users holds both states, by os_user.
    /// </summary>
    public static Result Build(RosterModel roster, StackSettings settings, HostBundle bundle)
    {
        var derived = Derivation.Derive(roster);
        var remote = new RemoteHost(settings.Ssh);
        var @base = new WorkstationBase(BaseName, new WorkstationBaseArgs(remote, bundle, settings.Site, derived.Settings));
        var access = new AccessLayer(settings, derived.Settings);
        var users = new SortedDictionary<string, WorkstationUser>(StringComparer.Ordinal);
        foreach (var u in derived.Users)
            users[u.OsUser] = new WorkstationUser(new WorkstationUserArgs(u, remote, settings.SnapshotToken, @base.Ready, access));
        // Only active users' host steps come before the maps: a retired one has none.
        @base.AddMaps(derived.Users, users.Values.ToList());
        foreach (var r in derived.Retired)
            users[r.OsUser] = new WorkstationUser(new RetiredWorkstationUserArgs(r, access));
        var authentik = new AuthentikEdge(AuthentikName, new AuthentikEdgeArgs(settings.Authentik, derived.Users));

        var perUser = new SortedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, user) in users)
        {
            perUser[name] = new Dictionary<string, object?>
            {
                ["ports"] = user.Ports,
                ["services"] = user.Services,
                ["tier"] = user.Tier,
                ["state"] = user.State,
            };
        }
        var outputs = new Dictionary<string, object?>
        {
            ["admin"] = roster.Admin.OsUser,
            ["users"] = perUser,
            ["hostContentSha256"] = @base.HostContentSha256,
        };
        return new Result(@base, access, users, authentik, outputs);
    }
}

/// <summary>The program's entry, minus Pulumi's runner: everything is checked before the first resource.</summary>
public static class WorkstationProgram
{
    /// <param name="config">The stack configuration.</param>
    /// <param name="projectDir">What relative paths (roster, host/) are relative to; default: the working directory,
    /// which Pulumi sets to the project folder.</param>
    public static IDictionary<string, object?> Run(IStackConfig config, string? projectDir = null)
    {
        var dir = projectDir ?? Directory.GetCurrentDirectory();
        var (settings, configErrors) = StackSettings.Load(config);
        if (settings is null)
            throw new RunException("invalid stack configuration:\n" + string.Join('\n', configErrors.Select(e => "  " + e)));

        var rosterPath = Path.Combine(dir, settings.RosterPath);
        var roster = RosterLoader.LoadFile(rosterPath);
        if (!roster.Ok)
            throw new RunException(
                $"invalid roster ({Path.GetFullPath(rosterPath)}); nothing was changed:\n" +
                string.Join('\n', roster.Errors.Select(e => "  " + e)));

        HostBundle bundle;
        try
        {
            bundle = HostBundle.FromDirectory(Path.Combine(dir, settings.HostDir));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new RunException($"cannot package the host layer: {e.Message}", e);
        }

        return WorkstationStack.Build(roster.Model!, settings, bundle).Outputs;
    }
}

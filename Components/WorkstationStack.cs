using Pulumi;
using Pulumi.Command.Remote;
using Workstation.Roster;
using Workstation.Roster.Access;

namespace Workstation.Components;

/// <summary>Builds the whole program from a validated roster and settings; Program.cs and the tests call it.</summary>
public static class WorkstationStack
{
    /// <summary>The base component's name (a reserved os_user, so it can't clash with a user's).</summary>
    public const string BaseName = ResourceNames.Base;

    /// <summary>The Authentik component's name.</summary>
    public const string AuthentikName = ResourceNames.AuthentikEdge;

    /// <summary>The maps step's name (top level: it follows every user's account step, not the base).</summary>
    public const string MapsName = ResourceNames.Maps;

    /// <param name="Base">The first host's base (a one-host stack's only one).</param>
    /// <param name="Maps">The first host's maps step.</param>
    public sealed record Result(
        WorkstationBase Base,
        Command Maps,
        AccessLayer Access,
        IReadOnlyDictionary<string, WorkstationUser> Users,
        AuthentikEdge? Authentik,
        IDictionary<string, object?> Outputs)
    {
        /// <summary>Each host's base, by host name.</summary>
        public IReadOnlyDictionary<string, WorkstationBase> Bases { get; init; } = new Dictionary<string, WorkstationBase>();

        /// <summary>Each host's maps step, by host name.</summary>
        public IReadOnlyDictionary<string, Command> HostMaps { get; init; } = new Dictionary<string, Command>();

        /// <summary>Where each active person lives.</summary>
        public FleetPlacement Placement { get; init; } = new(new Dictionary<string, string>());
    }

    /// <summary>
    /// Registers the base, the shared access layer (providers, ClusterRole), one
    /// <see cref="WorkstationUser"/> per roster member (active or retired), the maps step and the
    /// Authentik component. A retired member keeps a <see cref="WorkstationUser"/> in state
    /// `retired` (a disabled Vault entity, nothing else); the maps step and the Authentik group
    /// list only active people. Users holds both states, by os_user.
    /// </summary>
    public static Result Build(RosterModel roster, StackSettings settings, HostBundle bundle)
    {
        var derived = Derivation.Derive(roster);
        var strangers = settings.Base.TakeOver.OfType<SharedFiles.UnitTarget>().Where(t => !bundle.HasUnit(t.Name)).ToList();
        if (strangers.Count > 0)
            throw new RunException($"{ConfigKeys.Full(ConfigKeys.TakeOver)}: {string.Join(", ", strangers.Select(t => t.Path))} is not a unit template of host/units ({bundle.Units.Replace(" ", ", ", StringComparison.Ordinal)}); nothing was changed");
        var access = new AccessLayer(settings, derived.Settings);
        var ownToken = derived.Users.Where(u => u.KubeAuth == KubeAuth.ServiceAccountToken).Select(u => u.OsUser).ToList();
        if (ownToken.Count > 0 && access.Vault is null)
            throw new RunException($"roster: {string.Join(", ", ownToken.Select(u => $"users.{u}.kube_auth"))} is service-account-token, read from Vault, and {ConfigKeys.Full(ConfigKeys.EnableVault)} is false; nothing was changed");
        var secrets = new SecretStaging(StagedSecrets.Read(settings.Secrets.Fields, access.VaultOptions.KvMount, access.Vault), settings.Secrets)
        {
            Personal = StagedSecrets.ReadPersonal(derived.Users, access.VaultOptions.KvMount, access.VaultOptions.UsersPath, access.Vault),
        };
        // Every host step waits for every Vault read: a missing secret stops the run before any Command is sent.
        var reads = secrets.Values.Values.Concat(secrets.Personal.Values).ToList();
        var gate = reads.Count == 0 ? null : Output.All(reads).Apply(_ => true);
        var placement = Place(roster, settings);
        // One base per host, each on its own connection (issue 27); the devvm keeps the names it always had.
        var hosts = new Dictionary<string, HostParts>(StringComparer.Ordinal);
        foreach (var h in settings.Hosts)
        {
            var remote = new RemoteHost(h.Ssh, gate);
            var hostBase = new WorkstationBase(ResourceNames.BaseOf(h.Name),
                new WorkstationBaseArgs(remote, bundle, settings.Site, derived.Settings, roster.Admin.OsUser, h.Base, settings.Backup, settings.BackupPassword));
            hosts[h.Name] = new HostParts(remote, hostBase);
        }
        // An error about one person holds up the cut of everyone leaving; the error says how to cut them now.
        var shape = new StackShape(StagesSecrets: secrets.StagesAny, K8s: access.K8s is not null, Vault: access.Vault is not null,
            Authentik: settings.Authentik is not null) { Hosts = settings.Hosts.Select(h => h.Name).ToList() };
        var hint = Offboarding.Hint(Deployment.Instance.StackName, Deployment.Instance.ProjectName, derived.Retired, shape);
        var users = new SortedDictionary<string, WorkstationUser>(StringComparer.Ordinal);
        foreach (var m in derived.Members)
        {
            var on = hosts[HostOf(m, placement, settings)];
            users[m.OsUser] = new WorkstationUser(new WorkstationUserArgs(m, on.Remote, secrets, on.Base.Ready, access, settings.PurgeArchiveDir, bundle, hint)
            {
                Move = m is Member.Active { User.MovedFrom: { } from } active ? Move(active.User, hosts[from], settings) : null,
            });
        }
        // Maps wait for the accounts only (issue 24 §4): one person's failing clone or services
        // step must not hold up the edge's maps for everyone. The maps are pure routing from the
        // command line; a route to a t3 port nothing listens on yet answers 502 until it does.
        // Each host's maps list its own people, from the lists the fleet routing map is rendered from.
        var maps = new Dictionary<string, Command>(StringComparer.Ordinal);
        foreach (var (entry, people) in FleetRoutes.PerHost(settings.Hosts.Select(h => h.Entry), placement, derived.Users))
        {
            var on = hosts[entry.Name];
            maps[entry.Name] = AddMaps(ResourceNames.MapsOf(entry.Name), on.Remote, people,
                on.Base.Ready.Concat(people.Select(u => users[u.OsUser].AccountStep).OfType<Resource>()));
        }
        var authentik = settings.Authentik is { } edge ? new AuthentikEdge(AuthentikName, new AuthentikEdgeArgs(edge, derived.Users, hint)) : null;

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
            ["hostContentSha256"] = hosts.Values.First().Base.HostContentSha256,
            [FleetRoutes.OutputName] = FleetRoutes.Render(settings.Hosts.Select(h => h.Entry), placement, derived.Users),
        };
        var first = settings.Hosts[0].Name;
        return new Result(hosts[first].Base, maps[first], access, users, authentik, outputs)
        {
            Bases = hosts.ToDictionary(h => h.Key, h => h.Value.Base, StringComparer.Ordinal),
            HostMaps = maps,
            Placement = placement,
        };
    }

    private sealed record HostParts(RemoteHost Remote, WorkstationBase Base);

    /// <summary>Every active person's host, checked against the stack's hosts (issue 27); refused before any resource.</summary>
    private static FleetPlacement Place(RosterModel roster, StackSettings settings)
    {
        var (placement, errors) = Placement.Check(roster, settings.Hosts.Select(h => new FleetMember(h.Entry, h.Capacity)).ToList());
        if (placement is null)
            throw new RunException($"the roster does not fit the stack's hosts ({string.Join(", ", settings.Hosts.Select(h => h.Name))}); nothing was changed:\n" +
                string.Join('\n', errors.Select(e => "  " + e)));
        var movers = roster.Users.Where(u => u.MovedFrom is not null).ToList();
        if (movers.Count > 0 && settings.Backup is null)
            throw new RunException($"roster: {string.Join(", ", movers.Select(u => $"users.{u.OsUser}.moved_from"))}: a move carries the home through the backup repository, " +
                $"and {ConfigKeys.Full(ConfigKeys.BackupRepository)} is not set (both hosts must reach it); nothing was changed");
        return placement;
    }

    /// <summary>An active person's host from the placement; a tombstone's is its host: (or the fleet's only host).</summary>
    private static string HostOf(Member m, FleetPlacement placement, StackSettings settings) => m switch
    {
        Member.Active a => placement.HostOf[a.OsUser],
        Member.Retired { Tombstone.Host: { } h } => h,
        _ => settings.Hosts[0].Name,
    };

    /// <summary>
    /// A move's two steps (issue 27 §2): on the host left, `user move-out` (the offboarding cut, then
    /// the final snapshot); on the host joined, `user move-in` with the same uid and that snapshot.
    /// The person's own steps then run on the new host after the move-in (<see cref="WorkstationUser"/>).
    /// </summary>
    private static MoveSteps Move(DerivedUser u, HostParts from, StackSettings settings)
    {
        var repository = settings.Backup!.Repository;
        var password = Output.CreateSecret(settings.BackupPassword!);
        return new MoveSteps(from.Remote, from.Base.Ready, repository, password, u.Uid!.Value);
    }

    /// <summary>
    /// `maps apply`: its command line lists every active person (sorted), so it changes exactly
    /// when a person, their authentik user or t3 port changes. No delete: the maps keep the last roster.
    /// </summary>
    private static Command AddMaps(string name, RemoteHost remote, IReadOnlyCollection<DerivedUser> users, IEnumerable<Resource> after)
    {
        var maps = remote.AsRoot(HostCommands.Maps(users));
        var options = new CustomResourceOptions();
        foreach (var r in after) options.DependsOn.Add(r);
        return new Command(name, new CommandArgs
        {
            Connection = remote.Connection,
            Create = maps,
            Update = maps,
            AddPreviousOutputInEnv = false,
        }, options);
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
        // The Vault OIDC role's claim decides what the roster must hold (an email for everyone, with `email`).
        var roster = RosterLoader.LoadFile(rosterPath, settings.Vault?.Options.UserClaim ?? VaultUserClaim.PreferredUsername);
        if (!roster.Ok)
            throw new RunException(
                $"invalid roster ({Path.GetFullPath(rosterPath)}); nothing was changed:\n" +
                string.Join('\n', roster.Errors.Select(e => "  " + e)));
        CheckCapacity(roster.Model!, settings, rosterPath);

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

    /// <summary>
    /// The ceiling: a roster whose promised memory exceeds a host's stops here, before any resource.
    /// A fleet checks each host separately (its people against its own ceiling; Placement.Check
    /// refuses one over it, naming its people); a one-host stack says what it always said.
    /// </summary>
    private static void CheckCapacity(RosterModel roster, StackSettings settings, string rosterPath)
    {
        if (settings.Hosts.Count > 1)
        {
            var (placement, errors) = Placement.Check(roster with { File = Path.GetFileName(rosterPath) }, settings.Hosts.Select(h => new FleetMember(h.Entry, h.Capacity)).ToList());
            if (placement is null)
                throw new RunException($"invalid roster for the stack's hosts ({Path.GetFullPath(rosterPath)}); nothing was changed:\n" + string.Join('\n', errors.Select(e => "  " + e)));
            var users = Derivation.Derive(roster).Users;
            foreach (var h in settings.Hosts)
            {
                if (h.Capacity is not { } capacity)
                {
                    Log.Warn($"{ConfigKeys.Full(ConfigKeys.Hosts)} {h.Name}: no hostMemory: its capacity ceiling is not checked (docs/capacity.md)");
                    continue;
                }
                var r = Capacity.Check(placement.On(h.Name, users), capacity);
                if (r.Verdict == CapacityVerdict.Warn) Log.Warn($"capacity ({h.Name}): {r.Message}");
                else Log.Info($"capacity ({h.Name}): {r.Message}");
            }
            return;
        }
        if (settings.Hosts[0].Capacity is not { } host)
        {
            Log.Warn($"{ConfigKeys.Full(ConfigKeys.HostMemory)} is not set: the capacity ceiling is not checked (docs/capacity.md)");
            return;
        }
        var report = Capacity.Check(Derivation.Derive(roster).Users, host);
        switch (report.Verdict)
        {
            case CapacityVerdict.Over:
                throw new RunException($"roster over capacity ({Path.GetFullPath(rosterPath)}); nothing was changed:\n  {report.Message}");
            case CapacityVerdict.Warn:
                Log.Warn("capacity: " + report.Message);
                break;
            default:
                Log.Info("capacity: " + report.Message);
                break;
        }
    }
}

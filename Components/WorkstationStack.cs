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

    public sealed record Result(
        WorkstationBase Base,
        Command Maps,
        AccessLayer Access,
        IReadOnlyDictionary<string, WorkstationUser> Users,
        AuthentikEdge? Authentik,
        IDictionary<string, object?> Outputs);

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
        var remote = new RemoteHost(settings.Ssh, reads.Count == 0 ? null : Output.All(reads).Apply(_ => true));
        var @base = new WorkstationBase(BaseName,
            new WorkstationBaseArgs(remote, bundle, settings.Site, derived.Settings, roster.Admin.OsUser, settings.Base, settings.Backup, settings.BackupPassword));
        // An error about one person holds up the cut of everyone leaving; the error says how to cut them now.
        var shape = new StackShape(StagesSecrets: secrets.StagesAny, K8s: access.K8s is not null, Vault: access.Vault is not null,
            Authentik: settings.Authentik is not null);
        var hint = Offboarding.Hint(Deployment.Instance.StackName, Deployment.Instance.ProjectName, derived.Retired, shape);
        var users = new SortedDictionary<string, WorkstationUser>(StringComparer.Ordinal);
        foreach (var m in derived.Members)
            users[m.OsUser] = new WorkstationUser(new WorkstationUserArgs(m, remote, secrets, @base.Ready, access, settings.PurgeArchiveDir, bundle, hint));
        // Maps wait for the accounts only (issue 24 §4): one person's failing clone or services
        // step must not hold up the edge's maps for everyone. The maps are pure routing from the
        // command line; a route to a t3 port nothing listens on yet answers 502 until it does.
        var maps = AddMaps(remote, derived.Users, @base.Ready.Concat(users.Values.Select(u => u.AccountStep).OfType<Resource>()));
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
            ["hostContentSha256"] = @base.HostContentSha256,
        };
        return new Result(@base, maps, access, users, authentik, outputs);
    }

    /// <summary>
    /// `maps apply`: its command line lists every active person (sorted), so it changes exactly
    /// when a person, their authentik user or t3 port changes. No delete: the maps keep the last roster.
    /// </summary>
    private static Command AddMaps(RemoteHost remote, IReadOnlyCollection<DerivedUser> users, IEnumerable<Resource> after)
    {
        var maps = remote.AsRoot(HostCommands.Maps(users));
        var options = new CustomResourceOptions();
        foreach (var r in after) options.DependsOn.Add(r);
        return new Command(MapsName, new CommandArgs
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

    /// <summary>The ceiling: a roster whose promised memory exceeds the host's stops here, before any resource.</summary>
    private static void CheckCapacity(RosterModel roster, StackSettings settings, string rosterPath)
    {
        if (settings.Capacity is not { } host)
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

using Pulumi;
using Pulumi.Command.Remote;
using Workstation.Roster;

namespace Workstation.Components;

/// <param name="Roster">The roster's settings: its extra privileged groups go to the site step.</param>
public sealed record WorkstationBaseArgs(RemoteHost Remote, HostBundle Bundle, SiteSettings Site, RosterSettings Roster);

/// <summary>
/// The machine-wide steps: install host/ on the devvm, write the site values, and (once every
/// user exists) regenerate the shared maps. Children are named after the component, which is
/// a reserved user name, so no user's resources can collide with them.
/// </summary>
public sealed class WorkstationBase : ComponentResource
{
    public const string Type = "workstation:index:WorkstationBase";

    /// <summary>Unpacks host/ and runs its installer; re-runs only when the content hash changes.</summary>
    public Command Install { get; }

    /// <summary>`site apply`; re-runs when any site value (all in its command line) changes.</summary>
    public Command Site { get; }

    /// <summary>`maps apply` over all users; null until <see cref="AddMaps"/>.</summary>
    public Command? Maps { get; private set; }

    [Output("hostContentSha256")]
    public Output<string> HostContentSha256 { get; }

    private readonly string _name;
    private readonly RemoteHost _remote;

    public WorkstationBase(string name, WorkstationBaseArgs args, ComponentResourceOptions? options = null)
        : base(Type, name, options)
    {
        _name = name;
        _remote = args.Remote;
        var remote = args.Remote;

        // Triggers (a replace-on-change property) carry the content hash; no delete: the CLI
        // must stay on the host for the users' `suspend` during a destroy.
        Input<object> contentHash = args.Bundle.Sha256;
        Install = new Command($"{name}-install", new CommandArgs
        {
            Connection = remote.Connection,
            Create = remote.AsRoot(HostCommands.Install),
            Stdin = args.Bundle.Base64,
            Triggers = { contentHash },
            AddPreviousOutputInEnv = false,
        }, new CustomResourceOptions { Parent = this });

        var site = remote.AsRoot(HostCommands.Site(args.Site, args.Roster));
        Site = new Command($"{name}-site", new CommandArgs
        {
            Connection = remote.Connection,
            Create = site,
            Update = site,
            AddPreviousOutputInEnv = false,
        }, new CustomResourceOptions { Parent = this, DependsOn = { Install } });

        HostContentSha256 = Output.Create(args.Bundle.Sha256);
        RegisterOutputs(new Dictionary<string, object?> { ["hostContentSha256"] = HostContentSha256 });
    }

    /// <summary>What a user step waits for (ordering only: users never see the host content hash).</summary>
    public IEnumerable<Resource> Ready => [Install, Site];

    /// <summary>
    /// Adds the `maps apply` step. Its command line lists every user (sorted), so it changes
    /// exactly when a user, their authentik user or t3 port changes; it runs after the users' steps.
    /// </summary>
    public Command AddMaps(IReadOnlyCollection<DerivedUser> users, IEnumerable<Resource> after)
    {
        if (Maps is not null) throw new InvalidOperationException("the maps step exists already");
        var maps = _remote.AsRoot(HostCommands.Maps(users));
        var dependsOn = new InputList<Resource> { Install, Site };
        foreach (var r in after) dependsOn.Add(r);
        Maps = new Command($"{_name}-maps", new CommandArgs
        {
            Connection = _remote.Connection,
            Create = maps,
            Update = maps,
            AddPreviousOutputInEnv = false,
        }, new CustomResourceOptions { Parent = this, DependsOn = dependsOn });
        return Maps;
    }
}

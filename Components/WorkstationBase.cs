using Pulumi;
using Pulumi.Command.Remote;
using Workstation.Roster;

namespace Workstation.Components;

/// <param name="Roster">The roster's settings: its extra privileged groups go to the site step.</param>
/// <param name="Admin">The roster's admin, whom the host then refuses to cut.</param>
/// <param name="Base">The base step's settings; its takeOver's unit templates go to the installer, its base files to the base step.</param>
/// <param name="Backup">restic backups of /home; null: none.</param>
/// <param name="BackupPassword">The repository password (secret), on the backup step's stdin.</param>
public sealed record WorkstationBaseArgs(RemoteHost Remote, HostBundle Bundle, SiteSettings Site, RosterSettings Roster, string Admin, BaseSettings Base,
    BackupSettings? Backup = null, Output<string>? BackupPassword = null);

/// <summary>
/// The machine-wide steps, in order: install host/ on the devvm, apply the base (packages, the
/// claude CLI, managed settings, /etc/skel, swap), write the site values. Children are named
/// after the component, which is a reserved user name, so no user's resources can collide with them.
/// </summary>
public sealed class WorkstationBase : ComponentResource
{
    public const string Type = "workstation:index:WorkstationBase";

    /// <summary>Unpacks host/ and runs its installer; re-runs only when the content hash changes.</summary>
    public Command Install { get; }

    /// <summary>`base apply`; its command line carries the base inputs' hash, so it re-runs (an update) only when they change.</summary>
    public Command Base { get; }

    /// <summary>`site apply`; re-runs when any site value (all in its command line) changes.</summary>
    public Command Site { get; }

    /// <summary>`backup apply` (the password on stdin); null when backups are off.</summary>
    public Command? Backup { get; }

    [Output("hostContentSha256")]
    public Output<string> HostContentSha256 { get; }

    public WorkstationBase(string name, WorkstationBaseArgs args, ComponentResourceOptions? options = null)
        : base(Type, name, options)
    {
        var remote = args.Remote;

        // Triggers (a replace-on-change property) carry the content hash; no delete: the CLI
        // must stay on the host for the users' `suspend` during a destroy.
        Input<object> contentHash = args.Bundle.Sha256;
        Install = new Command($"{name}-install", new CommandArgs
        {
            Connection = remote.Connection,
            Create = remote.AsRoot(HostCommands.InstallTakingOver(args.Base.TakeOver.OfType<SharedFiles.UnitTarget>().Select(t => t.Path))),
            Stdin = args.Bundle.Base64,
            Triggers = { contentHash },
            AddPreviousOutputInEnv = false,
        }, new CustomResourceOptions { Parent = this });

        // No delete either: a destroy leaves the machine's toolset in place.
        var @base = remote.AsRoot(HostCommands.Base(args.Bundle.BaseInputsSha256, args.Base));
        Base = new Command($"{name}-base", new CommandArgs
        {
            Connection = remote.Connection,
            Create = @base,
            Update = @base,
            AddPreviousOutputInEnv = false,
        }, new CustomResourceOptions { Parent = this, DependsOn = { Install } });

        var site = remote.AsRoot(HostCommands.Site(args.Site, args.Roster, args.Admin));
        Site = new Command($"{name}-site", new CommandArgs
        {
            Connection = remote.Connection,
            Create = site,
            Update = site,
            AddPreviousOutputInEnv = false,
        }, new CustomResourceOptions { Parent = this, DependsOn = { Base } });

        if (args.Backup is { } backup && args.BackupPassword is { } password)
        {
            // No delete: a destroy leaves the backups (and their timer) as they are.
            var apply = remote.AsRoot(HostCommands.Backup(backup));
            Backup = new Command($"{name}-backup", new CommandArgs
            {
                Connection = remote.Connection,
                Create = apply,
                Update = apply,
                Stdin = Output.CreateSecret(password),
                Logging = Logging.None,
                AddPreviousOutputInEnv = false,
            }, new CustomResourceOptions { Parent = this, DependsOn = { Base }, AdditionalSecretOutputs = { "stdin", "stdout", "stderr" } });
        }

        HostContentSha256 = Output.Create(args.Bundle.Sha256);
        RegisterOutputs(new Dictionary<string, object?> { ["hostContentSha256"] = HostContentSha256 });
    }

    /// <summary>What a user step waits for (ordering only: users never see the host content hash).</summary>
    public IEnumerable<Resource> Ready => [Install, Base, Site];
}

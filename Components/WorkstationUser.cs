using System.Collections.Immutable;
using Pulumi;
using Pulumi.Command.Remote;
using Workstation.Roster;

namespace Workstation.Components;

/// <param name="User">The derived roster entry.</param>
/// <param name="Remote">How to reach the devvm.</param>
/// <param name="SnapshotToken">The chrome-service snapshot token (secret), seeded on stdin; null: none.</param>
/// <param name="After">What must exist first (the base's install and site steps), for ordering only.</param>
public sealed record WorkstationUserArgs(DerivedUser User, RemoteHost Remote, Output<string>? SnapshotToken, IEnumerable<Resource> After);

/// <summary>
/// One person's workstation on the devvm. All host work happens in one SSH session: the
/// `<os_user>-host` Command runs `user apply` on create and update and `user suspend` on delete
/// (the reversible cut when the user leaves the roster). Named by os_user, so adding, removing or
/// reordering other users never touches it.
/// </summary>
public sealed class WorkstationUser : ComponentResource
{
    public const string Type = "workstation:index:WorkstationUser";

    /// <summary>The one host step.</summary>
    public Command Host { get; }

    [Output("ports")]
    public Output<ImmutableDictionary<string, int>> Ports { get; }

    [Output("services")]
    public Output<ImmutableArray<string>> Services { get; }

    [Output("tier")]
    public Output<string> Tier { get; }

    public WorkstationUser(WorkstationUserArgs args, ComponentResourceOptions? options = null)
        : base(Type, args.User.OsUser, options)
    {
        var u = args.User;
        var remote = args.Remote;
        var token = args.SnapshotToken;
        var apply = remote.AsRoot(HostCommands.Apply(u, tokenOnStdin: token is not null));

        var commandArgs = new CommandArgs
        {
            Connection = remote.Connection,
            Create = apply,
            Update = apply,
            Delete = remote.AsRoot(HostCommands.Suspend(u)),
            AddPreviousOutputInEnv = false,
        };
        var commandOptions = new CustomResourceOptions { Parent = this };
        foreach (var r in args.After) commandOptions.DependsOn.Add(r);
        if (token is not null)
        {
            // The token travels on stdin only; keep it, and anything the step echoes, out of logs and plaintext state.
            commandArgs.Stdin = Output.CreateSecret(token);
            commandArgs.Logging = Logging.None;
            commandOptions.AdditionalSecretOutputs.AddRange(["stdin", "stdout", "stderr"]);
        }
        Host = new Command($"{u.OsUser}-host", commandArgs, commandOptions);

        Ports = Output.Create(ImmutableDictionary.CreateRange(StringComparer.Ordinal, new KeyValuePair<string, int>[]
        {
            new("t3", u.Ports.T3),
            new("playwright", u.Ports.Playwright),
        }));
        Services = Output.Create(u.Services.ToImmutableArray());
        Tier = Output.Create(u.Tier.ToYaml());
        RegisterOutputs(new Dictionary<string, object?>
        {
            ["ports"] = Ports,
            ["services"] = Services,
            ["tier"] = Tier,
        });
    }
}

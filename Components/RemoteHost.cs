using Pulumi.Command.Remote.Inputs;
using Workstation.Roster;

namespace Workstation.Components;

/// <summary>The SSH connection every Command uses, and how a command string is run as root.</summary>
/// <param name="gate">What every host step waits for (the Vault reads): if it fails, no Command is sent at all.</param>
public sealed class RemoteHost(SshTarget ssh, Pulumi.Output<bool>? gate = null)
{
    /// <summary>One shared instance: the provider marks the whole connection secret, the key is secret too.</summary>
    public ConnectionArgs Connection { get; } = new()
    {
        Host = ssh.Host,
        Port = ssh.Port,
        User = ssh.User,
        HostKey = ssh.HostKey,
        PrivateKey = Pulumi.Output.CreateSecret(gate is null ? ssh.PrivateKey : Pulumi.Output.Tuple(ssh.PrivateKey, gate).Apply(t => t.Item1)),
    };

    public bool IsRoot => ssh.User == "root";

    /// <summary>
    /// The command as the SSH user runs it. Non-root users need passwordless sudo; `-n` makes a
    /// missing sudo rule fail at once instead of waiting for a password. CLI calls are single
    /// commands and take a plain prefix; anything else (the install pipeline) goes through sh -c.
    /// </summary>
    public string AsRoot(string command) =>
        IsRoot ? command
        : command.StartsWith(HostCommands.Cli + " ", StringComparison.Ordinal) ? "sudo -n " + command
        : "sudo -n sh -c " + HostCommands.Quote(command);
}

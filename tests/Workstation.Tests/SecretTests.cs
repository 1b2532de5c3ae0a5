using System.Text.Json;
using Pulumi;
using Pulumi.Command.Remote;
using Pulumi.Command.Remote.Inputs;
using Pulumi.Utilities;
using Workstation.Components;
using Workstation.Tests.Support;
using Xunit;

namespace Workstation.Tests;

/// <summary>
/// The private key and the snapshot token stay secret wherever they travel. The test monitor strips
/// secretness before mocks see inputs, so these checks read the args as the program built them
/// (a stack transformation sees them before serialisation) with the public Output.IsSecretAsync.
/// </summary>
public class SecretTests
{
    private static readonly string[] Secrets = [Fixture.PrivateKey, Fixture.Token];

    // The config adapter hands secrets out as *plain* outputs: the program must mark them itself.
    private static Task<(IReadOnlyList<Constructed> Constructed, IDictionary<string, object?> Outputs)> ProbeAsync() =>
        Probe.RunAsync(() => WorkstationStack.Build(
            Fixture.Roster(), Fixture.Settings(Fixture.Config(secretsAsPlainOutputs: true)), Fixture.Bundle).Outputs);

    private static async Task<(T? Value, bool Secret)> Read<T>(Input<T>? input)
    {
        Assert.NotNull(input);
        var output = input.ToOutput();
        return (await OutputUtilities.GetValueAsync(output), await Output.IsSecretAsync(output));
    }

    [Fact]
    public async Task The_private_key_is_secret_in_every_command_connection()
    {
        var (constructed, _) = await ProbeAsync();
        var commands = constructed.Where(c => c.Resource is Command).ToList();
        Assert.Equal(6, commands.Count);
        foreach (var c in commands)
        {
            var args = (CommandArgs)c.Args;
            var (connection, connectionSecret) = await Read(args.Connection);
            Assert.True(connectionSecret, $"{c.Resource.GetResourceName()}: connection is not secret");
            var (key, keySecret) = await Read(connection!.PrivateKey);
            Assert.Equal(Fixture.PrivateKey, key);
            Assert.True(keySecret, $"{c.Resource.GetResourceName()}: privateKey is not secret");
            Assert.Equal(Fixture.HostKey, (await Read(connection.HostKey)).Value);
            // The provider keeps the connection out of plaintext outputs.
            Assert.Contains("connection", ((CustomResourceOptions)c.Options).AdditionalSecretOutputs);
        }
    }

    [Fact]
    public async Task The_token_goes_only_on_stdin_of_the_user_steps_as_a_secret_with_logging_off()
    {
        var (constructed, _) = await ProbeAsync();
        foreach (var c in constructed.Where(c => c.Resource is Command))
        {
            var name = c.Resource.GetResourceName();
            var args = (CommandArgs)c.Args;
            foreach (var line in new[] { args.Create, args.Update, args.Delete })
            {
                if (line is null) continue;
                var (text, _) = await Read(line);
                Assert.All(Secrets, s => Assert.DoesNotContain(s.Trim(), text!, StringComparison.Ordinal));
            }

            var options = (CustomResourceOptions)c.Options;
            if (name.EndsWith("-host", StringComparison.Ordinal))
            {
                var (stdin, secret) = await Read(args.Stdin);
                Assert.Equal(Fixture.Token, stdin);
                Assert.True(secret, $"{name}: stdin is not secret");
                Assert.Equal(Logging.None, (await Read(args.Logging)).Value);
                Assert.Superset(new HashSet<string> { "stdin", "stdout", "stderr" }, options.AdditionalSecretOutputs.ToHashSet());
            }
            else if (args.Stdin is { } stdin)
            {
                // The install step's stdin is the host bundle: no secrets in it.
                Assert.Equal(Fixture.Bundle.Base64, (await Read(stdin)).Value);
            }
        }
    }

    [Fact]
    public async Task No_stack_output_carries_a_secret()
    {
        var (_, outputs) = await ProbeAsync();
        var json = JsonSerializer.Serialize(await Harness.ResolveAsync(outputs));
        Assert.All(Secrets, s => Assert.DoesNotContain(JsonSerializer.Serialize(s.Trim()).Trim('"'), json, StringComparison.Ordinal));
        Assert.Contains("\"tier\"", json, StringComparison.Ordinal);
    }
}

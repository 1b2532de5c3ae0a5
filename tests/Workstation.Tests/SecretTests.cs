using System.Text.Json;
using Pulumi.Command.Remote;
using Pulumi.Command.Remote.Inputs;
using Pulumi.Utilities;

namespace Workstation.Tests;

/// <summary>
/// The private key, the snapshot token, the kubeconfig and the provider tokens stay secret wherever they travel. The test monitor strips
/// secretness before mocks see inputs, so these checks read the args as the program built them
/// (a stack transformation sees them before serialisation) with the public Output.IsSecretAsync.
/// </summary>
public class SecretTests
{
    private static readonly string[] Secrets = Fixture.AllSecrets;

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
        Assert.Equal(18, commands.Count);
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
    public async Task Secret_values_go_only_on_the_secrets_steps_stdin_never_in_a_command_line()
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
            if (name.EndsWith("-secrets", StringComparison.Ordinal))
            {
                // The golden roster's people hold the default secrets: the bundle is exactly those, by name.
                var bundle = JsonSerializer.Deserialize<SortedDictionary<string, string>>((await Read(args.Stdin)).Value!)!;
                Assert.Equal(new SortedDictionary<string, string>(StringComparer.Ordinal)
                {
                    ["beads-key"] = Fixture.BeadsKey,
                    ["memory-key"] = Fixture.MemoryKey,
                    ["repo-token"] = Fixture.RepoToken,
                    ["snapshot-token"] = Fixture.Token,
                }, bundle);
            }
            else if (args.Stdin is { } stdin)
                // The install step's stdin is the host bundle: no secrets in it.
                Assert.Equal(Fixture.Bundle.Base64, (await Read(stdin)).Value);
        }
    }

    /// <summary>Each guarantee around the values fails on its own: secret stdin, what is logged, secret outputs.</summary>
    private async Task<List<(string Name, CommandArgs Args, CustomResourceOptions Options)>> UserSteps()
    {
        var (constructed, _) = await ProbeAsync();
        var steps = constructed.Where(c => c.Resource is Command && c.Resource.GetResourceName().EndsWith("-secrets", StringComparison.Ordinal))
            .Select(c => (c.Resource.GetResourceName(), (CommandArgs)c.Args, (CustomResourceOptions)c.Options)).ToList();
        Assert.Equal(3, steps.Count);
        return steps;
    }

    [Fact]
    public async Task The_secrets_steps_stdin_is_a_pulumi_secret()
    {
        foreach (var (name, args, _) in await UserSteps())
            Assert.True((await Read(args.Stdin)).Secret, $"{name}: stdin (the values) is not marked secret, so state would hold it in plaintext");
    }

    [Fact]
    public async Task The_secrets_steps_log_only_stderr_where_the_host_prints_names_and_rotation_lines()
    {
        foreach (var (name, args, _) in await UserSteps())
            Assert.True(Equals(Logging.Stderr, (await Read(args.Logging)).Value), $"{name}: logging must be Stderr (stdout is never logged)");
    }

    [Fact]
    public async Task The_secrets_steps_stdin_stdout_and_stderr_are_secret_outputs()
    {
        foreach (var (name, _, options) in await UserSteps())
            Assert.True(new[] { "stdin", "stdout", "stderr" }.All(options.AdditionalSecretOutputs.Contains),
                $"{name}: stdin, stdout and stderr must be secret outputs, has [{string.Join(", ", options.AdditionalSecretOutputs)}]");
    }

    /// <summary>A Command's previous stdout/stderr would otherwise reach the next run's environment (PULUMI_COMMAND_STDOUT/STDERR).</summary>
    [Fact]
    public async Task No_command_hands_its_previous_output_to_its_next_run()
    {
        var (constructed, _) = await ProbeAsync();
        var commands = constructed.Where(c => c.Resource is Command).ToList();
        Assert.Equal(18, commands.Count);
        foreach (var c in commands)
            Assert.True(Equals(false, (await Read(((CommandArgs)c.Args).AddPreviousOutputInEnv)).Value),
                $"{c.Resource.GetResourceName()}: AddPreviousOutputInEnv must be false");
    }

    [Fact]
    public async Task The_kubeconfig_and_the_provider_tokens_are_secret_inputs_and_outputs_of_their_providers()
    {
        var (constructed, _) = await ProbeAsync();
        var k8s = constructed.Single(c => c.Resource is Pulumi.Kubernetes.Provider);
        var (kubeconfig, kubeconfigSecret) = await Read(((Pulumi.Kubernetes.ProviderArgs)k8s.Args).KubeConfig);
        Assert.Equal(Fixture.Kubeconfig, kubeconfig);
        Assert.True(kubeconfigSecret, "kubeconfig is not secret");
        Assert.Contains("kubeconfig", ((CustomResourceOptions)k8s.Options).AdditionalSecretOutputs);
        Assert.Equal("fixture-admin", (await Read(((Pulumi.Kubernetes.ProviderArgs)k8s.Args).Context)).Value);

        var vault = constructed.Single(c => c.Resource is Pulumi.Vault.Provider);
        var (vaultToken, vaultSecret) = await Read(((Pulumi.Vault.ProviderArgs)vault.Args).Token);
        Assert.Equal(Fixture.VaultToken, vaultToken);
        Assert.True(vaultSecret, "the Vault token is not secret");
        Assert.Contains("token", ((CustomResourceOptions)vault.Options).AdditionalSecretOutputs);

        var authentik = constructed.Single(c => c.Resource is Pulumi.Authentik.Provider);
        var (authentikToken, authentikSecret) = await Read(((Pulumi.Authentik.ProviderArgs)authentik.Args).Token);
        Assert.Equal(Fixture.AuthentikToken, authentikToken);
        Assert.True(authentikSecret, "the Authentik token is not secret");
        Assert.Contains("token", ((CustomResourceOptions)authentik.Options).AdditionalSecretOutputs);
    }

    [Fact]
    public async Task No_secret_reaches_any_other_resource_or_lookup()
    {
        var run = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), Fixture.Settings(), Fixture.Bundle).Outputs);
        var providers = new HashSet<string>(StringComparer.Ordinal) { Types.K8sProvider, Types.VaultProvider, Types.AuthentikProvider };
        foreach (var r in run.Registrations.Where(r => !providers.Contains(r.Type)))
        {
            // The secrets steps carry the values on stdin, as checked above; nothing else may.
            var inputs = r.Type == Types.Command ? r.Inputs.Remove("stdin").Remove("connection") : r.Inputs;
            var text = Canonicalizer.Write(inputs);
            Assert.All(Secrets, s => Assert.DoesNotContain(JsonSerializer.Serialize(s.Trim()).Trim('"'), text, StringComparison.Ordinal));
        }
        var calls = JsonSerializer.Serialize(run.Calls!.Select(c => Canonicalizer.Write(c.Args)));
        Assert.All(Secrets, s => Assert.DoesNotContain(JsonSerializer.Serialize(s.Trim()).Trim('"'), calls, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_a_configured_kubeconfig_or_vault_token_the_providers_store_none()
    {
        // The environment stays the providers' business at run time: neither the KUBECONFIG path
        // (which the SDK would copy by default) nor any token ends up in the provider's inputs.
        var old = Environment.GetEnvironmentVariable("KUBECONFIG");
        var oldSkip = Environment.GetEnvironmentVariable("VAULT_SKIP_VERIFY");
        Environment.SetEnvironmentVariable("KUBECONFIG", "/home/someone/.kube/admin-config");
        Environment.SetEnvironmentVariable("VAULT_SKIP_VERIFY", "true");
        try
        {
            var settings = Fixture.Settings(Fixture.Config().With(ConfigKeys.Kubeconfig, "").With(ConfigKeys.VaultToken, "").With(ConfigKeys.KubeContext, null));
            var run = await Harness.RunAsync(() => WorkstationStack.Build(Fixture.Roster(), settings, Fixture.Bundle).Outputs);
            var k8s = run.Named(Types.K8sProvider, AccessLayer.K8sProviderName);
            Assert.False(k8s.Inputs.ContainsKey("kubeconfig"), k8s.Canonical);
            Assert.False(k8s.Inputs.ContainsKey("context"), k8s.Canonical);
            var vault = run.Named(Types.VaultProvider, AccessLayer.VaultProviderName);
            Assert.False(vault.Inputs.ContainsKey("token"), vault.Canonical);
            // Nor does the runner's VAULT_SKIP_VERIFY turn off TLS checks for the Vault provider.
            Assert.Equal("false", vault.Inputs["skipTlsVerify"]); // provider inputs travel JSON-encoded
        }
        finally
        {
            Environment.SetEnvironmentVariable("KUBECONFIG", old);
            Environment.SetEnvironmentVariable("VAULT_SKIP_VERIFY", oldSkip);
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

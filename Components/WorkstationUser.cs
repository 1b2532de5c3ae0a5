using System.Collections.Immutable;
using Pulumi;
using Pulumi.Command.Remote;
using Pulumi.Kubernetes.Rbac.V1;
using Pulumi.Vault;
using Pulumi.Vault.Identity;
using Workstation.Roster;
using Workstation.Roster.Access;

namespace Workstation.Components;

/// <param name="Member">The roster entry in its lifecycle state: active or retired.</param>
/// <param name="Remote">How to reach the devvm (used by an active member's host steps).</param>
/// <param name="Secrets">The shared secrets the stack stages (values read from Vault, secret), their serials and the memory server.</param>
/// <param name="After">What must exist first (the base's install, base and site steps), for ordering only.</param>
/// <param name="Access">The shared providers, ClusterRole and auth mount accessor for the cluster and Vault objects.</param>
/// <param name="PurgeArchiveDir">Where a purge archives the home on the devvm.</param>
/// <param name="OffboardHint">What an external binding error ends with: the targeted up that cuts the retired people now.</param>
/// <param name="Bundle">The host/ being installed: each step's line carries the hash of the host code it runs.</param>
public sealed record WorkstationUserArgs(Member Member, RemoteHost Remote, SecretStaging Secrets, IEnumerable<Resource> After, AccessLayer Access,
    string PurgeArchiveDir, HostBundle Bundle, string OffboardHint = "")
{
    /// <summary>A move to <see cref="Remote"/>'s host from another (issue 27 §2); null: none.</summary>
    public MoveSteps? Move { get; init; }
}

/// <param name="From">The host the person leaves.</param>
/// <param name="FromReady">That host's base steps (the move-out runs after them: the host CLI must be there).</param>
/// <param name="Repository">The restic repository both hosts reach (backupRepository).</param>
/// <param name="Password">Its password (secret), on the two steps' stdin.</param>
/// <param name="Uid">The pinned uid the account keeps on the new host.</param>
public sealed record MoveSteps(RemoteHost From, IEnumerable<Resource> FromReady, string Repository, Output<string> Password, int Uid);

/// <param name="Values">Secret → its value as read from Vault (a Pulumi secret); empty (and no Personal): the stack stages none, and there is no secrets step.</param>
/// <param name="Settings">The stack's rotation serials and claude_memory URL.</param>
public sealed record SecretStaging(IReadOnlyDictionary<SharedSecret, Output<string>> Values, SecretSettings Settings)
{
    public static SecretStaging None { get; } = new(new Dictionary<SharedSecret, Output<string>>(), SecretSettings.None);

    /// <summary>os_user → that person's own kube token (kube_auth: service-account-token), read from their own Vault path.</summary>
    public IReadOnlyDictionary<string, Output<string>> Personal { get; init; } = new Dictionary<string, Output<string>>();

    /// <summary>Whether anyone has a secrets step: the stack stages a shared secret or someone's own token.</summary>
    public bool StagesAny => Values.Count > 0 || Personal.Count > 0;

    /// <summary>What one person's step may draw on: the shared values and their own token, never another person's.</summary>
    public IReadOnlyDictionary<SharedSecret, Output<string>> For(string osUser) =>
        Personal.TryGetValue(osUser, out var own)
            ? new Dictionary<SharedSecret, Output<string>>(Values) { [SharedSecret.KubeToken] = own }
            : Values;
}

/// <summary>
/// One person's workstation: on the devvm, in the cluster and in Vault. On the host, up to five
/// Commands, one SSH session each, so a preview names the step that changes and one failing
/// step leaves the others' state true:
/// - `<os_user>-account`: `user account apply` (account, groups, lock state, what the tier grants
///   on the host); its delete is `user suspend`, the reversible cut;
/// - `<os_user>-code`: `user code apply` (the ~/code clone); no delete: homes are kept;
/// - `<os_user>-services`: `user services apply` (ports, MCP entry, firewall, units); its delete,
///   `user services stop`, runs before the account's (it depends on the account);
/// - `<os_user>-secrets` (when the stack stages any): `user secrets apply`, the shared secrets the
///   person is eligible for, their values on stdin; its delete, `user secrets remove`, takes them
///   out of the home at the cut;
/// - `<os_user>-cut` (never the admin's): no create; it depends on all the others, so its delete,
///   `user suspend`, is the first of a retire: the account is locked, the units stopped and the
///   processes ended before any other delete reads the home.
/// The steps come from one list, <see cref="HostStep.All"/>, which the targeted offboarding
/// command reads too. The admin's steps have no delete at all: automation never cuts the admin.
/// Beside them:
/// the tier's bindings (`<os_user>-k8s-...`), reads of bindings other stacks own, and a Vault
/// entity, alias and policy. Every child is named by os_user, so adding, removing or reordering
/// other users never touches it.
/// A retired member keeps this component, same type and name, in state `retired`: only the
/// Vault entity, disabled and without policies, and its alias when the tombstone records
/// authentik_user. Same names under the same parent, so retiring and bringing back are
/// updates, never replaces. Deleting the entry outright deletes everything.
/// </summary>
public sealed class WorkstationUser : ComponentResource
{
    public const string Type = ResourceTypes.WorkstationUser;

    /// <summary>The account step; null when retired.</summary>
    public Command? AccountStep { get; }

    /// <summary>The ~/code step; null when retired.</summary>
    public Command? CodeStep { get; }

    /// <summary>The services step; null when retired.</summary>
    public Command? ServicesStep { get; }

    /// <summary>The secrets step; null when retired or when the stack stages no secret.</summary>
    public Command? SecretsStep { get; }

    /// <summary>The cut step (no create; its delete, `user suspend`, runs before every other delete); null when retired, and for the admin.</summary>
    public Command? CutStep { get; }

    /// <summary>A move's first step, on the host left: the cut, then the final snapshot; null without a move.</summary>
    public Command? MoveOutStep { get; private set; }

    /// <summary>A move's second step, on the host joined: the account with the same uid, the home restored; null without a move.</summary>
    public Command? MoveInStep { get; private set; }

    /// <summary>The tier's ClusterRoleBinding or RoleBindings (none for the admin or a retired user).</summary>
    public IReadOnlyList<CustomResource> K8sBindings { get; }

    /// <summary>Reads of the bindings roster `external_bindings` names; never created or changed here.</summary>
    public IReadOnlyList<RoleBinding> ExternalBindingReads { get; }

    /// <summary>Null when retired.</summary>
    public Policy? VaultPolicy { get; }

    /// <summary>Null once purged.</summary>
    public Entity? VaultEntity { get; }

    /// <summary>
    /// Attaches this program's policy to the entity, and only it (non-exclusive), so policies
    /// attached outside this program (an adopted entity, the admin's) are never stripped. Null when retired.
    /// </summary>
    public EntityPolicies? VaultEntityPolicies { get; }

    /// <summary>`user purge` (create only), for a tombstone with `purge: true`; otherwise null.</summary>
    public Command? PurgeStep { get; }

    /// <summary>Null for a retired user whose tombstone has no authentik_user, and once purged.</summary>
    public EntityAlias? VaultAlias { get; }

    /// <summary>The external bindings, as namespace/name, once each passed its check (a failed check throws).</summary>
    [Output("externalBindings")]
    public Output<ImmutableArray<string>> ExternalBindings { get; }

    [Output("ports")]
    public Output<ImmutableDictionary<string, int>> Ports { get; }

    [Output("services")]
    public Output<ImmutableArray<string>> Services { get; }

    /// <summary>The roster tier when active; otherwise the state (`retired` or `purged`).</summary>
    [Output("tier")]
    public Output<string> Tier { get; }

    /// <summary><see cref="Member.State"/>: `active`, `retired` or `purged`.</summary>
    [Output("state")]
    public Output<string> State { get; }

    /// <summary>The admin's Vault identity is retained and protected (<see cref="Retention.For"/>).</summary>
    private readonly bool _ofAdmin;

    public WorkstationUser(WorkstationUserArgs args, ComponentResourceOptions? options = null)
        : base(Type, ResourceNames.User(args.Member.OsUser), options)
    {
        var access = args.Access;
        _ofAdmin = args.Member is Member.Active { User.IsAdmin: true };
        switch (args.Member)
        {
            case Member.Active { User: var u }:
                var steps = AddHostSteps(u, args);
                AccountStep = steps[HostStep.Account];
                CodeStep = steps[HostStep.Code];
                ServicesStep = steps[HostStep.Services];
                SecretsStep = steps.GetValueOrDefault(HostStep.Secrets);
                CutStep = steps.GetValueOrDefault(HostStep.Cut);
                (K8sBindings, ExternalBindingReads, ExternalBindings) = access.K8s is null
                    ? ([], [], Output.Create(ImmutableArray<string>.Empty))
                    : AddCluster(u, access, args.OffboardHint);
                if (access.Vault is not null)
                {
                    var v = VaultAccess.For(u, access.VaultOptions);
                    VaultPolicy = new Policy(ResourceNames.VaultPolicy(u.OsUser), new PolicyArgs
                    {
                        Name = v.Policy.Name,
                        PolicyContents = v.Policy.Json,
                    }, new CustomResourceOptions { Parent = this, Provider = access.Vault }.With(ResourceTypes.VaultPolicy, u.IsAdmin));
                    // Created before the first login, so the login's alias lands on this entity and its policy.
                    // The policy name is a constant (readable in a preview); DependsOn orders it after the policy.
                    VaultEntity = AddEntity(v.Entity, access, VaultPolicy);
                    VaultEntityPolicies = new EntityPolicies(ResourceNames.VaultEntityPolicies(u.OsUser), new EntityPoliciesArgs
                    {
                        EntityId = VaultEntity.Id,
                        Policies = v.Entity.Policies.ToArray(),
                        Exclusive = false,
                    }, new CustomResourceOptions { Parent = this, Provider = access.Vault, DependsOn = { VaultPolicy } });
                    VaultAlias = AddAlias(v.Alias, access);
                }
                (Ports, Services, Tier, State) = Register(u.Ports, u.Services, u.Tier.ToYaml(), args.Member.State);
                break;

            case Member.Retired { Tombstone: var r }:
                // No host steps: deleting them ran `user suspend` first (the cut step), then `user secrets remove`,
                // `user services stop` and `user suspend` again (the account's); no bindings, no policy.
                // The entity stays, disabled, so Vault refuses a login or a token of it until the person comes back.
                // Purged (`purge: true`): the purge step archives the home and deletes the account, and
                // the Vault identity goes (deleted here, only here); the tombstone keeps uid and ports.
                var rv = VaultAccess.For(r, access.VaultOptions);
                K8sBindings = [];
                ExternalBindingReads = [];
                ExternalBindings = Output.Create(ImmutableArray<string>.Empty);
                if (r.Purge)
                {
                    PurgeStep = new Command($"{r.OsUser}-purge", new CommandArgs
                    {
                        Connection = args.Remote.Connection,
                        Create = args.Remote.AsRoot(HostCommands.Purge(r, args.PurgeArchiveDir)),
                        AddPreviousOutputInEnv = false,
                    }, new CustomResourceOptions { Parent = this, DependsOn = args.After.ToList() });
                }
                else if (access.Vault is not null)
                {
                    VaultEntity = AddEntity(rv.Entity, access, after: null);
                    VaultAlias = rv.Alias is { } alias ? AddAlias(alias, access) : null;
                }
                (Ports, Services, Tier, State) = Register(r.Ports, [], args.Member.State, args.Member.State);
                break;

            default:
                throw new ArgumentOutOfRangeException(nameof(args), $"unknown member state {args.Member.GetType().Name}");
        }
    }

    /// <summary>
    /// The host steps, from the one list (<see cref="HostStep.For"/>) in its order, each after the
    /// steps it names: code and services after the account, secrets after both (the beads key goes
    /// into the clone; the CLI's file is the services step's first), the cut after all of them.
    /// </summary>
    private IReadOnlyDictionary<HostStep, Command> AddHostSteps(DerivedUser u, WorkstationUserArgs args)
    {
        var remote = args.Remote;
        var made = new Dictionary<HostStep, Command>();
        var first = args.Move is { } move ? AddMove(u, move, args) : args.After;
        foreach (var step in HostStep.For(u.IsAdmin, stagesSecrets: args.Secrets.StagesAny))
        {
            var after = step.After.Count == 0
                ? first
                : made.Where(m => step.After.Contains(m.Key.Name)).Select(m => (Resource)m.Value).ToList();
            made[step] = step == HostStep.Secrets ? AddSecrets(after)
                : Add(step, step == HostStep.Account ? HostCommands.Account(u)
                    // A private repository: the clone waits for the repo token the secrets step stages (issue 24 §4).
                    : step == HostStep.Code ? HostCommands.Code(u, args.Secrets.Values.ContainsKey(SharedSecret.RepoToken))
                    : step == HostStep.Services ? HostCommands.Services(u)
                    : step.CreateVerb is null ? null
                    : throw new InvalidOperationException($"no create command for the host step {step.Name}"), after);
        }
        return made;

        Command AddSecrets(IEnumerable<Resource> after)
        {
            var values = args.Secrets.For(u.OsUser);
            var held = StagedSecrets.For(u, values);
            var secretsArgs = new CommandArgs
            {
                // The values travel on stdin only; stdin and anything the step prints stay secret in state.
                // The host prints names and rotation lines, never a value, on stderr: that much reaches the log.
                Stdin = StagedSecrets.Bundle(held, values),
                Logging = Logging.Stderr,
            };
            var secretsOptions = new CustomResourceOptions();
            secretsOptions.AdditionalSecretOutputs.AddRange(["stdin", "stdout", "stderr"]);
            return Add(HostStep.Secrets, HostCommands.Secrets(u, held, args.Secrets.Settings.Rotate, args.Secrets.Settings.MemoryMcpUrl),
                after, secretsArgs, secretsOptions);
        }

        // apply null: a step with no create or update (the cut); its delete is stored all the same.
        Command Add(HostStep step, string? apply, IEnumerable<Resource> after,
            CommandArgs? commandArgs = null, CustomResourceOptions? commandOptions = null)
        {
            commandArgs ??= new CommandArgs();
            commandArgs.Connection = remote.Connection;
            if (apply is not null)
            {
                // The step's host code rides on its line: an upgrade re-runs it as an update (never a
                // trigger: a replace would run the stored delete). Deletes stay as they are.
                var line = args.Bundle.AtHostRev(step, apply);
                commandArgs.Create = remote.AsRoot(line);
                commandArgs.Update = remote.AsRoot(line);
            }
            if (HostCommands.Delete(step, u) is { } delete) commandArgs.Delete = remote.AsRoot(delete);
            commandArgs.AddPreviousOutputInEnv = false;
            commandOptions ??= new CustomResourceOptions();
            commandOptions.Parent = this;
            foreach (var r in after) commandOptions.DependsOn.Add(r);
            return new Command(step.ResourceName(u.OsUser), commandArgs, commandOptions);
        }
    }

    /// <summary>
    /// The move's two steps, in order: move-out on the host left (after its base), move-in on this
    /// host (after its base and the move-out, with the snapshot id the move-out printed). Returns
    /// what the account step then waits for. Neither has a delete: once the roster drops
    /// moved_from they go from the state and nothing runs; the old host keeps the person cut.
    /// </summary>
    private List<Resource> AddMove(DerivedUser u, MoveSteps move, WorkstationUserArgs args)
    {
        CommandArgs Secret(CommandArgs a)
        {
            a.Stdin = Output.CreateSecret(move.Password);
            a.Logging = Logging.Stderr;
            a.AddPreviousOutputInEnv = false;
            return a;
        }
        CustomResourceOptions After(IEnumerable<Resource> after)
        {
            var o = new CustomResourceOptions { Parent = this };
            o.AdditionalSecretOutputs.AddRange(["stdin"]);
            foreach (var r in after) o.DependsOn.Add(r);
            return o;
        }
        MoveOutStep = new Command(ResourceNames.MoveOut(u.OsUser), Secret(new CommandArgs
        {
            Connection = move.From.Connection,
            Create = move.From.AsRoot(HostCommands.MoveOut(u.OsUser, move.Repository)),
        }), After(move.FromReady));
        var moveIn = MoveOutStep.Stdout.Apply(stdout => args.Remote.AsRoot(HostCommands.MoveIn(u.OsUser, move.Uid, HostCommands.SnapshotOf(stdout), move.Repository)));
        MoveInStep = new Command(ResourceNames.MoveIn(u.OsUser), Secret(new CommandArgs
        {
            Connection = args.Remote.Connection,
            Create = moveIn,
        }), After([.. args.After, MoveOutStep]));
        return [.. args.After, MoveInStep];
    }

    private (Output<ImmutableDictionary<string, int>>, Output<ImmutableArray<string>>, Output<string>, Output<string>) Register(
        Ports ports, IReadOnlyList<string> services, string tier, string state)
    {
        var portsOut = Output.Create(ImmutableDictionary.CreateRange(StringComparer.Ordinal, new KeyValuePair<string, int>[]
        {
            new("t3", ports.T3),
            new("playwright", ports.Playwright),
        }));
        var servicesOut = Output.Create(services.ToImmutableArray());
        var tierOut = Output.Create(tier);
        var stateOut = Output.Create(state);
        // externalBindings: the verified bindings (the runner awaits every Output, so a failed check stops the run anyway).
        RegisterOutputs(new Dictionary<string, object?>
        {
            ["ports"] = portsOut,
            ["services"] = servicesOut,
            ["tier"] = tierOut,
            ["state"] = stateOut,
            ["externalBindings"] = ExternalBindings,
        });
        return (portsOut, servicesOut, tierOut, stateOut);
    }

    private (IReadOnlyList<CustomResource>, IReadOnlyList<RoleBinding>, Output<ImmutableArray<string>>) AddCluster(DerivedUser u, AccessLayer access, string hint)
    {
        var k8s = K8sAccess.For(u, access.K8sOptions);
        var bindings = new List<CustomResource>();
        foreach (var b in k8s.Bindings)
        {
            // roleRef is immutable in Kubernetes and the name is fixed: a change must delete first.
            var options = new CustomResourceOptions { Parent = this, Provider = access.K8s, DeleteBeforeReplace = true };
            var name = ResourceNames.K8sBinding(u.OsUser, b);
            if (b.Kind == K8sAccess.ClusterRoleBinding)
            {
                options.DependsOn.Add(access.PowerUserRole!);
                bindings.Add(new ClusterRoleBinding(name, K8sRbac.ClusterRoleBinding(b), options));
            }
            else
            {
                bindings.Add(new RoleBinding(name, K8sRbac.RoleBinding(b), options));
            }
        }

        var reads = new List<RoleBinding>();
        var verified = new List<Output<string>>();
        foreach (var e in k8s.ExternalBindings)
        {
            var read = RoleBinding.Get(ResourceNames.ExternalBindingRead(e), e.Id, new CustomResourceOptions { Parent = this, Provider = access.K8s });
            reads.Add(read);
            verified.Add(Output.Tuple(read.Metadata, read.RoleRef, read.Subjects)
                .Apply(t => K8sRbac.Assert(e, K8sRbac.Observed(t.Item1, t.Item2, t.Item3), hint)));
        }
        // Bindings other stacks made cluster-wide: read and held to the tier (§5 of issue 24).
        verified.AddRange(k8s.ClusterBindings.Select(c => K8sRbac.ReadClusterBinding(c, this, access.K8s!, hint)));
        return (bindings, reads, Output.All(verified));
    }

    /// <summary>
    /// The entity, `<os_user>-vault-entity` in either state: retiring flips Disabled in place (and
    /// deleting `<os_user>-vault-policies` detaches our policy). Its policies are external: this
    /// resource never reads or writes them, so an entity adopted with policies of its own keeps them.
    /// </summary>
    private Entity AddEntity(VaultEntitySpec spec, AccessLayer access, Resource? after)
    {
        var options = new CustomResourceOptions { Parent = this, Provider = access.Vault }.With(ResourceTypes.VaultEntity, _ofAdmin);
        if (after is not null) options.DependsOn.Add(after);
        return new Entity(ResourceNames.VaultEntity(spec.Name), new EntityArgs
        {
            Name = spec.Name,
            Metadata = new Dictionary<string, string>(spec.Metadata),
            ExternalPolicies = true,
            Disabled = spec.Disabled,
        }, options);
    }

    private EntityAlias AddAlias(VaultEntityAliasSpec spec, AccessLayer access) =>
        new(ResourceNames.VaultAlias(spec.EntityName), new EntityAliasArgs
        {
            Name = spec.Name,
            MountAccessor = access.OidcMountAccessor!,
            CanonicalId = VaultEntity!.Id,
        }, new CustomResourceOptions { Parent = this, Provider = access.Vault }.With(ResourceTypes.VaultEntityAlias, _ofAdmin));
}

using System.Collections.Immutable;
using Pulumi;
using Pulumi.Authentik;
using Workstation.Roster;
using Workstation.Roster.Access;

namespace Workstation.Components;

/// <param name="Settings">URL, token and the t3 application's slug.</param>
/// <param name="People">Everyone in the roster, the admin included: the group's members.</param>
/// <param name="OffboardHint">What a lookup error ends with: the targeted up that cuts the retired people now.</param>
public sealed record AuthentikEdgeArgs(AuthentikSettings Settings, IReadOnlyList<DerivedUser> People, string OffboardHint = "");

/// <summary>One roster person as Authentik knows them. Field is where the roster names them; Pk is null when Authentik has no such user.</summary>
public sealed record AuthentikMember(string Field, string AuthentikUser, int? Pk, string? Why = null)
{
    public static string FieldOf(DerivedUser p) => p.IsAdmin ? "admin.authentik_user" : $"users.{p.OsUser}.authentik_user";
}

/// <summary>
/// Everything Workstation does in Authentik, in one component: its provider, the group
/// `T3 Users` (members = exactly the roster, an authoritative list managed from the group's side
/// only), an expression policy that admits only that group, and its binding to the t3
/// application (read by slug, never owned).
/// </summary>
public sealed class AuthentikEdge : ComponentResource
{
    public const string Type = ResourceTypes.AuthentikEdge;
    public const string PolicyName = AuthentikAccess.PolicyName;

    public Pulumi.Authentik.Provider Provider { get; }

    /// <summary>The t3 application, read by slug: another stack (or the UI) owns it.</summary>
    public Application T3App { get; }

    /// <summary>The t3 application's proxy provider, read by id: its mode says whether the application is t3's alone.</summary>
    public ProviderProxy T3AppProvider { get; }

    public Group Group { get; }
    public PolicyExpression Policy { get; }
    public PolicyBinding Binding { get; }

    [Output("members")]
    public Output<ImmutableArray<string>> Members { get; }

    public AuthentikEdge(string name, AuthentikEdgeArgs args, ComponentResourceOptions? options = null)
        : base(Type, name, options)
    {
        var settings = args.Settings;
        Provider = new Pulumi.Authentik.Provider(ResourceNames.AuthentikProvider(name), new ProviderArgs
        {
            Url = settings.Url,
            Token = Output.CreateSecret(settings.Token),
        }, new CustomResourceOptions { Parent = this, AdditionalSecretOutputs = { "token" } });
        // A fresh options object per resource: Pulumi keeps a reference to the one it is given.
        CustomResourceOptions Mine(Resource? after = null)
        {
            var o = new CustomResourceOptions { Parent = this, Provider = Provider };
            if (after is not null) o.DependsOn.Add(after);
            return o;
        }

        T3App = Application.Get(ResourceNames.T3App(name), settings.T3AppSlug, null, Mine());
        // Its provider, read by the id the application names, to tell a per-host application from a domain-level one.
        T3AppProvider = ProviderProxy.Get(ResourceNames.T3AppProvider(name),
            T3App.ProtocolProvider.Apply(id => id?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? ""), null, Mine());
        // The binding targets the application only once its setup is known to let the group decide (issue 24 §1).
        var gatedTarget = Output.Tuple(T3App.Uuid, T3App.PolicyEngineMode, T3AppProvider.Mode).Apply(t =>
            AuthentikAccess.WhyMembershipDoesNotDecide(settings.T3AppSlug, t.Item2, t.Item3) is { } why
                ? throw new RunException("the edge gate can't hold: " + why)
                : t.Item1);

        // One look-up per person; all of them are awaited before the group, so one error names every unknown user.
        var lookups = args.People
            .OrderBy(p => p.AuthentikUser, StringComparer.Ordinal)
            .Select(p => Output.Create(LookUpAsync(AuthentikMember.FieldOf(p), p.AuthentikUser)))
            .ToList();
        var userPks = Output.All(lookups).Apply(found => MemberPks(found, args.OffboardHint));

        Group = new Group(ResourceNames.T3Users(name), new GroupArgs
        {
            Name = AuthentikAccess.GroupName,
            Users = userPks,
            IsSuperuser = false,
        }, Mine().With(ResourceTypes.AuthentikGroup));

        Policy = new PolicyExpression(ResourceNames.T3UsersOnly(name), new PolicyExpressionArgs
        {
            Name = PolicyName,
            Expression = AuthentikAccess.PolicyExpression(),
            ExecutionLogging = false,
        }, Mine(after: Group).With(ResourceTypes.AuthentikPolicyExpression));

        // failureResult false: if the expression errors, the answer is "no".
        Binding = new PolicyBinding(ResourceNames.T3UsersOnlyBinding(name), new PolicyBindingArgs
        {
            Target = gatedTarget,
            Policy = Policy.Id,
            Order = 0,
            Enabled = true,
            Negate = false,
            FailureResult = false,
        }, Mine().With(ResourceTypes.AuthentikPolicyBinding));

        Members = Output.Create(AuthentikAccess.Members(args.People).ToImmutableArray());
        RegisterOutputs(new Dictionary<string, object?> { ["members"] = Members });
    }

    /// <summary>
    /// GetUser by username. The provider's own "not found" error names no one, so a failure is
    /// recorded here, with the roster's name for it, and reported for everyone at once.
    /// </summary>
    private async Task<AuthentikMember> LookUpAsync(string field, string authentikUser)
    {
        try
        {
            var user = await GetUser.InvokeAsync(new GetUserArgs { Username = authentikUser },
                new InvokeOptions { Provider = Provider, Parent = this }).ConfigureAwait(false);
            return user.Pk > 0 ? new(field, authentikUser, user.Pk) : new(field, authentikUser, null, "no such user");
        }
        catch (Exception e) when (e is not RunException)
        {
            return new(field, authentikUser, null, e.Message);
        }
    }

    /// <summary>
    /// The group's member list: user pks in ascending order (the order Authentik lists them in, so
    /// a refresh shows no drift). Throws, naming each roster person Authentik doesn't know.
    /// </summary>
    public static ImmutableArray<int> MemberPks(IEnumerable<AuthentikMember> found, string offboardHint = "")
    {
        var all = found.ToList();
        var unknown = all.Where(m => m.Pk is null).OrderBy(m => m.Field, StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            throw new RunException(
                $"Authentik doesn't know {unknown.Count} roster user(s), so the group '{AuthentikAccess.GroupName}' can't be set: " +
                string.Join("; ", unknown.Select(m => $"'{m.AuthentikUser}' (roster.yaml {m.Field}){(m.Why is null ? "" : $": {m.Why}")}")) +
                ". Create the account in Authentik first, or fix authentik_user in roster.yaml." + offboardHint);
        }
        return all.Select(m => m.Pk!.Value).Distinct().Order().ToImmutableArray();
    }
}

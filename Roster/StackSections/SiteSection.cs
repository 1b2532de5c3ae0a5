namespace Workstation.Roster;

/// <summary>The site section: the machine-wide values the site step writes for the per-person steps (<see cref="SiteSettings"/>).</summary>
public static class SiteSection
{
    // The keys, a line a concern: the code repository, the kubeconfigs' OIDC login and cluster, Vault, t3 and its edge, the rest.
    public const string RepoUrl = "repoUrl";
    public const string OidcIssuer = "oidcIssuer", OidcClientId = "oidcClientId", OidcGrantTypeKey = Kubelogin.GrantTypeKey;
    public const string ClusterName = "clusterName", ClusterServer = "clusterServer";
    public const string VaultAddr = "vaultAddr";
    public const string T3Command = "t3Command", EdgeUser = "edgeUser";
    public const string SnapshotUrl = "snapshotUrl", RestartIdleMinutes = "restartIdleMinutes";

    public static readonly IReadOnlyList<string> Keys =
        [RepoUrl, OidcIssuer, OidcClientId, OidcGrantTypeKey, ClusterName, ClusterServer, VaultAddr, T3Command, EdgeUser, SnapshotUrl, RestartIdleMinutes];

    /// <param name="authentikOn">The edge layer is on (the layers section's enableAuthentik): then edgeUser must be said.</param>
    public static Section<SiteSettings> Read(Func<string, string?> get, bool authentikOn)
    {
        var c = new SectionConfig(Keys, get);
        // Set to '' on purpose (a stack with no repository, e.g. the sandbox): ~/code is not cloned.
        var repoUrl = c.Get(RepoUrl) == "" ? "" : c.Required(RepoUrl, "the git URL cloned into each ~/code (or '' for none)");
        c.NoCredentials(RepoUrl, repoUrl);
        return c.Result(new SiteSettings(
            repoUrl,
            c.Url(OidcIssuer, "the OIDC issuer URL for kubeconfigs"),
            c.Required(OidcClientId, "the OIDC client id for kubeconfigs"),
            c.Required(ClusterName, "the Kubernetes cluster name for kubeconfigs"),
            c.Url(ClusterServer, "the Kubernetes API server URL"),
            c.Url(VaultAddr, "the Vault address written to ~/.zshrc.d/vault.sh"),
            c.Required(T3Command, "the command line t3-serve runs"),
            Edge(c, authentikOn),
            // Unset or '' means none: the refresh timer then does nothing.
            c.Get(SnapshotUrl) is { Length: > 0 } ? c.Url(SnapshotUrl, "the snapshot URL") : null,
            IdleMinutes(c),
            Grant(c)));
    }

    // `none` (said on purpose) or unset/'' means no edge account: t3 ports then admit their owner only.
    // With the edge layer on, unset is refused (§1 of issue 24): the first services step would cut
    // the dispatcher off from every person's t3, the admin's included.
    private static string? Edge(SectionConfig c, bool authentikOn)
    {
        var edge = c.Get(EdgeUser);
        if (edge == StackValues.NoEdgeUser) return null;
        if (edge is not { Length: > 0 })
        {
            if (authentikOn)
                c.Add(EdgeUser,
                    "required with Authentik on: the account the t3 dispatcher runs as (besides their owner, the only one the firewall lets " +
                    "connect to a t3 port; unset, the first up cuts it off from every person). `workstation adopt plan` on the devvm prints it: " +
                    $"`pulumi config set {EdgeUser} NAME`, or `{StackValues.NoEdgeUser}` on purpose");
            return null;
        }
        if (Rules.AccountName().IsMatch(edge)) return edge;
        c.Add(EdgeUser, $"'{edge}' is not a valid account name: {Rules.WhyInvalid(edge, Rules.AccountName())}");
        return null;
    }

    // The default (20 minutes) is also the host's own: the site command then leaves the flag
    // out, so its string, and every host step's, is what it was before the key had a default.
    private static int? IdleMinutes(SectionConfig c)
    {
        if (c.Get(RestartIdleMinutes) is not { Length: > 0 } text) return null;
        var n = c.Number(RestartIdleMinutes, text, 0, Rules.MaxRestartIdleMinutes, $"a number of minutes (0-{Rules.MaxRestartIdleMinutes})");
        return n == Rules.DefaultRestartIdleMinutes ? null : n;
    }

    // Unset: the headless default (device-code); see Roster/Kubelogin.cs.
    private static OidcGrantType Grant(SectionConfig c)
    {
        if (c.Get(OidcGrantTypeKey) is not { Length: > 0 } text) return Kubelogin.DefaultGrantType;
        if (Kubelogin.Parse(text) is { } grant) return grant;
        c.Add(OidcGrantTypeKey, StackValues.NotA(text, string.Join(" or ", Kubelogin.All.Select(g => g.Name()))));
        return Kubelogin.DefaultGrantType;
    }
}

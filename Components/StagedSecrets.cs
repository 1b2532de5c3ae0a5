using System.Collections.Immutable;
using System.Text.Json;
using Pulumi;
using Pulumi.Vault.kv;
using Workstation.Roster;

namespace Workstation.Components;

/// <summary>
/// The shared secrets, read from Vault at deploy time (preview included) through the stack's
/// Vault provider, and the per-person bundle the secrets step reads on stdin. Every value is
/// a Pulumi secret from the read on; nothing is copied into config.
/// </summary>
public static class StagedSecrets
{
    /// <summary>
    /// One read per Vault path (two secrets in one path share it). A missing path or field fails
    /// the whole run, naming the config key, before any host step is sent (see <see cref="RemoteHost.GatedBy"/>).
    /// </summary>
    public static IReadOnlyDictionary<SharedSecret, Output<string>> Read(
        IReadOnlyDictionary<SharedSecret, VaultField> fields, string kvMount, Resource? vault)
    {
        var byPath = fields.GroupBy(kv => kv.Value.Path, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => Output.CreateSecret(ReadPathAsync(kvMount, g.Key, string.Join(", ", g.Select(kv => Key(kv.Key))), vault)),
                StringComparer.Ordinal);
        return fields.ToDictionary(kv => kv.Key,
            kv => byPath[kv.Value.Path].Apply(data => Field(kv.Key, kv.Value, kvMount, data)));
    }

    /// <summary>
    /// Each person's own kube token (roster kube_auth: service-account-token), os_user → value:
    /// the field kube-token of their own Vault secret, KV_MOUNT/USERS_PATH/OS_USER, read as the
    /// shared ones are (a secret from the read on; a missing one fails the run, naming the person).
    /// </summary>
    public static IReadOnlyDictionary<string, Output<string>> ReadPersonal(
        IEnumerable<DerivedUser> users, string kvMount, string usersPath, Resource? vault) =>
        users.Where(u => u.Secrets.Contains(SharedSecret.KubeToken)).ToDictionary(u => u.OsUser, u =>
        {
            var path = $"{usersPath}/{u.OsUser}";
            var what = $"users.{u.OsUser}.kube_auth (service-account-token)";
            return Output.CreateSecret(ReadPathAsync(kvMount, path, what, vault)).Apply(data =>
                data.TryGetValue(SharedSecrets.KubeTokenField, out var value) && !string.IsNullOrEmpty(value)
                    ? value
                    : throw new RunException($"{what}: Vault's {kvMount}/{path} has no field '{SharedSecrets.KubeTokenField}' (or it is empty); nothing was changed"));
        }, StringComparer.Ordinal);

    private static async Task<ImmutableDictionary<string, string>> ReadPathAsync(string mount, string path, string what, Resource? vault)
    {
        try
        {
            var result = await GetSecretV2.InvokeAsync(new GetSecretV2Args { Mount = mount, Name = path },
                new InvokeOptions { Provider = vault as ProviderResource }).ConfigureAwait(false);
            return result.Data ?? ImmutableDictionary<string, string>.Empty;
        }
        catch (Exception e) when (e is not RunException)
        {
            throw new RunException($"{what}: cannot read {mount}/{path} from Vault: {e.Message}; nothing was changed");
        }
    }

    private static string Field(SharedSecret s, VaultField where, string mount, ImmutableDictionary<string, string> data) =>
        data.TryGetValue(where.Field, out var value) && !string.IsNullOrEmpty(value)
            ? value
            : throw new RunException($"{Key(s)}: Vault's {mount}/{where.Path} has no field '{where.Field}' (or it is empty); nothing was changed");

    /// <summary>The config key that names a secret's Vault field, as an error names it.</summary>
    public static string Key(SharedSecret s) => $"{ConfigKeys.Full(ConfigKeys.VaultSecrets)}[\"{s.Name()}\"]";

    /// <summary>What one person is sent: the secrets they are eligible for that the stack stages.</summary>
    public static IReadOnlyList<SharedSecret> For(DerivedUser u, IReadOnlyDictionary<SharedSecret, Output<string>> staged) =>
        u.Secrets.Where(staged.ContainsKey).ToList();

    /// <summary>The stdin of a person's secrets step: one JSON object, name → value, as a secret.</summary>
    public static Output<string> Bundle(IReadOnlyList<SharedSecret> held, IReadOnlyDictionary<SharedSecret, Output<string>> staged) =>
        Output.CreateSecret(Output.All(held.Select(s => staged[s]))
            .Apply(values => JsonSerializer.Serialize(
                new SortedDictionary<string, string>(held.Zip(values).ToDictionary(p => p.First.Name(), p => p.Second), StringComparer.Ordinal))));
}

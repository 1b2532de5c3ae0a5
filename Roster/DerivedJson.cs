using System.Buffers;
using System.Text;
using System.Text.Json;
using static Workstation.Roster.JsonArrays;

namespace Workstation.Roster;

/// <summary>Writes the derived model as JSON, byte-for-byte deterministic (sorted, LF, no timestamps).</summary>
public static class DerivedJson
{
    public static string Write(DerivedRoster roster)
    {
        // One buffer sized for the roster (about 1.2 KB a user) and one string made from it: large
        // rosters otherwise spend more time copying (and collecting) big buffers than writing.
        var buffer = new ArrayBufferWriter<byte>(4096 + 1280 * (roster.Users.Count + roster.Retired.Count));
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
        {
            w.WriteStartObject();
            w.WriteStartObject("settings");
            w.WriteNumber("t3_base_port", roster.Settings.T3BasePort);
            w.WriteNumber("playwright_base_port", roster.Settings.PlaywrightBasePort);
            w.WriteString("k8s_username_claim", roster.Settings.K8sUsernameClaim == K8sUsernameClaim.Email ? "email" : "name");
            w.WriteString("k8s_username_prefix", roster.Settings.K8sUsernamePrefix);
            w.WriteEndObject();
            w.WriteStartObject("users");
            foreach (var u in roster.Users) WriteUser(w, u);
            w.WriteEndObject();
            w.WriteStartObject("retired");
            foreach (var r in roster.Retired)
            {
                w.WriteStartObject(r.OsUser);
                if (r.Uid is { } uid) w.WriteNumber("uid", uid); else w.WriteNull("uid");
                WritePorts(w, r.Ports);
                w.WriteBoolean("purge", r.Purge);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        buffer.Write("\n"u8);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteUser(Utf8JsonWriter w, DerivedUser u)
    {
        w.WriteStartObject(u.OsUser);
        w.WriteString("authentik_user", u.AuthentikUser);
        w.WriteString("k8s_user", u.K8sUser);
        if (u.Email is { } email) w.WriteString("email", email); else w.WriteNull("email");
        w.WriteString("tier", u.Tier.ToYaml());
        w.WriteBoolean("admin", u.IsAdmin);
        if (u.Uid is { } uid) w.WriteNumber("uid", uid); else w.WriteNull("uid");
        w.WriteBoolean("adopt", u.Adopt);
        Strings(w, "revoke_groups", u.RevokeGroups);
        Strings(w, "extra_groups", u.ExtraGroups);
        w.WriteBoolean("private_home", u.PrivateHome);
        w.WriteString("kube_auth", u.KubeAuth.ToYaml());
        WritePorts(w, u.Ports);
        w.WriteString("home", u.Home);
        w.WriteString("marker_group", u.MarkerGroup);
        Strings(w, "tier_groups", u.TierGroups);
        Strings(w, "services", u.Services);
        w.WriteStartObject("env_files");
        foreach (var (path, vars) in u.EnvFiles)
        {
            w.WriteStartObject(path);
            foreach (var (k, v) in vars) w.WriteString(k, v);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        Strings(w, "namespaces", u.Namespaces);
        w.WriteStartObject("external_bindings");
        foreach (var (ns, binding) in u.ExternalBindings) w.WriteString(ns, binding);
        w.WriteEndObject();
        w.WriteStartObject("k8s_subject");
        w.WriteString("kind", u.K8sSubject.Kind);
        w.WriteString("name", u.K8sSubject.Name);
        w.WriteEndObject();
        // Sizes as systemd reads them (the services step sends the same words).
        w.WriteStartObject("budget");
        // observe: the host enforces no memory limit for this person yet (adopted, no memory budget).
        w.WriteString("memory", u.MemoryLimits == MemoryLimits.Observed ? "observe" : "enforce");
        w.WriteString("memory_high", Sizes.Format(u.Budget.MemoryHigh));
        w.WriteString("memory_max", Sizes.Format(u.Budget.MemoryMax));
        w.WriteNumber("cpu_weight", u.Budget.CpuWeight);
        w.WriteNumber("tasks_max", u.Budget.TasksMax);
        w.WriteEndObject();
        // The shared secrets the secrets step stages for this person, by name, sorted.
        Strings(w, "secrets", u.Secrets.Select(SharedSecrets.Name));
        w.WriteEndObject();
    }

    private static void WritePorts(Utf8JsonWriter w, Ports p)
    {
        w.WriteStartObject("ports");
        w.WriteNumber("t3", p.T3);
        w.WriteNumber("playwright", p.Playwright);
        w.WriteEndObject();
    }
}

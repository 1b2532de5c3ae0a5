using Pulumi;
using Workstation.Roster;

namespace Workstation.Components;

/// <summary>Applies <see cref="Retention.For"/> to a resource's options: the one rule, set where each resource is made.</summary>
public static class Retained
{
    /// <summary>Sets RetainOnDelete and Protect only where the rule says so (other options stay unset, as before).</summary>
    public static CustomResourceOptions With(this CustomResourceOptions options, string type, bool ofAdmin = false)
    {
        var r = Retention.For(type, ofAdmin);
        if (r.RetainOnDelete) options.RetainOnDelete = true;
        if (r.Protect) options.Protect = true;
        return options;
    }
}

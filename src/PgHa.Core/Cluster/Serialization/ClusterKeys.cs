namespace PgHa.Cluster.Serialization;

/// <summary>Patroni's key names under <c>/&lt;namespace&gt;/&lt;scope&gt;/</c>.</summary>
public static class ClusterKeys
{
    /// <summary><c>initialize</c></summary>
    public const string Initialize = "initialize";
    /// <summary><c>config</c></summary>
    public const string Config = "config";
    /// <summary><c>leader</c></summary>
    public const string Leader = "leader";
    /// <summary><c>status</c></summary>
    public const string Status = "status";
    /// <summary><c>optime/leader</c> (legacy, read only)</summary>
    public const string LegacyOptime = "optime/leader";
    /// <summary><c>failover</c></summary>
    public const string Failover = "failover";
    /// <summary><c>sync</c></summary>
    public const string Sync = "sync";
    /// <summary><c>history</c></summary>
    public const string History = "history";
    /// <summary><c>failsafe</c></summary>
    public const string Failsafe = "failsafe";
    /// <summary><c>members/</c></summary>
    public const string MembersPrefix = "members/";

    /// <summary>The key of a member.</summary>
    public static string Member(string name) => MembersPrefix + name;

    /// <summary>
    /// The cluster prefix, normalised as Patroni does: <c>/service/batman/</c> for namespace <c>service</c> (or
    /// <c>/service/</c>, <c>//service</c>) and scope <c>batman</c>.
    /// </summary>
    public static string Prefix(string @namespace, string scope)
    {
        var ns = string.Join('/', @namespace.Split('/', StringSplitOptions.RemoveEmptyEntries));
        return ns.Length == 0 ? $"/{scope}/" : $"/{ns}/{scope}/";
    }
}

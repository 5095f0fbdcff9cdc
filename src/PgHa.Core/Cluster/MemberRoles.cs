namespace PgHa.Cluster;

/// <summary>Conversions between <see cref="MemberRole"/> and Patroni's role strings.</summary>
public static class MemberRoles
{
    /// <summary>Parses a role string; <c>master</c> and <c>primary</c> are the same role.</summary>
    public static MemberRole Parse(string? role) => role switch
    {
        "primary" or "master" => MemberRole.Primary,
        "replica" => MemberRole.Replica,
        "standby_leader" => MemberRole.StandbyLeader,
        "demoted" => MemberRole.Demoted,
        "uninitialized" => MemberRole.Uninitialized,
        "promoted" => MemberRole.Promoted,
        _ => MemberRole.Unknown,
    };

    /// <summary>
    /// The string to publish. <paramref name="legacyMaster"/> writes <c>master</c> as Patroni 3.x does, which is what
    /// 3.x peers and tools sharing the cluster expect.
    /// </summary>
    public static string ToWire(MemberRole role, bool legacyMaster = true) => role switch
    {
        MemberRole.Primary => legacyMaster ? "master" : "primary",
        MemberRole.Replica => "replica",
        MemberRole.StandbyLeader => "standby_leader",
        MemberRole.Demoted => "demoted",
        MemberRole.Uninitialized => "uninitialized",
        MemberRole.Promoted => "promoted",
        _ => "unknown",
    };
}

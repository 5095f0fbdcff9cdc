namespace PgHa.Dcs.ZooKeeper.Client;

/// <summary>A znode's <c>Stat</c> record (68 bytes on the wire).</summary>
/// <param name="Czxid">The transaction that created the znode: unique per creation, so a re-created znode differs.</param>
/// <param name="Mzxid">The transaction that last changed its data.</param>
/// <param name="Ctime">Creation time (server clock, ms since the epoch).</param>
/// <param name="Mtime">Last modification time (server clock, ms since the epoch).</param>
/// <param name="Version">Data version: 0 at creation, +1 per setData; what setData/delete compare.</param>
/// <param name="Cversion">Children version.</param>
/// <param name="Aversion">ACL version.</param>
/// <param name="EphemeralOwner">The session owning an ephemeral znode; 0 for persistent ones.</param>
/// <param name="DataLength">Length of the data.</param>
/// <param name="NumChildren">Number of children.</param>
/// <param name="Pzxid">The transaction that last changed the children.</param>
internal readonly record struct ZooKeeperStat(
    long Czxid, long Mzxid, long Ctime, long Mtime, int Version, int Cversion, int Aversion,
    long EphemeralOwner, int DataLength, int NumChildren, long Pzxid);

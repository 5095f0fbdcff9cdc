namespace PgHa.Dcs.ZooKeeper.Client;

/// <summary>How a znode is created (the <c>flags</c> of a create request).</summary>
internal enum ZooKeeperCreateMode
{
    Persistent = 0,
    /// <summary>Deleted when the creating session ends (closed or expired).</summary>
    Ephemeral = 1,
    PersistentSequential = 2,
    EphemeralSequential = 3,
}

/// <summary>One operation of an atomic <see cref="ZooKeeperClient.MultiAsync"/>: all succeed or none takes effect.</summary>
internal abstract record ZooKeeperOp(string Path)
{
    internal abstract ZooKeeperOpCode OpCode { get; }

    internal abstract void WriteBody(JuteWriter writer);

    /// <summary>Creates <paramref name="Path"/> with <paramref name="Data"/>.</summary>
    public sealed record Create(string Path, byte[] Data, ZooKeeperCreateMode Mode = ZooKeeperCreateMode.Persistent, IReadOnlyList<ZooKeeperAcl>? Acl = null) : ZooKeeperOp(Path)
    {
        internal override ZooKeeperOpCode OpCode => ZooKeeperOpCode.Create;

        internal override void WriteBody(JuteWriter writer) => ZooKeeperClient.WriteCreate(writer, Path, Data, Acl ?? ZooKeeperAcl.OpenUnsafe, Mode);
    }

    /// <summary>Deletes <paramref name="Path"/> if its version is <paramref name="Version"/> (−1: any).</summary>
    public sealed record Delete(string Path, int Version = -1) : ZooKeeperOp(Path)
    {
        internal override ZooKeeperOpCode OpCode => ZooKeeperOpCode.Delete;

        internal override void WriteBody(JuteWriter writer)
        {
            writer.WriteString(Path);
            writer.WriteInt(Version);
        }
    }

    /// <summary>Replaces the data of <paramref name="Path"/> if its version is <paramref name="Version"/> (−1: any).</summary>
    public sealed record SetData(string Path, byte[] Data, int Version = -1) : ZooKeeperOp(Path)
    {
        internal override ZooKeeperOpCode OpCode => ZooKeeperOpCode.SetData;

        internal override void WriteBody(JuteWriter writer)
        {
            writer.WriteString(Path);
            writer.WriteBuffer(Data);
            writer.WriteInt(Version);
        }
    }

    /// <summary>Fails the whole multi unless <paramref name="Path"/> has version <paramref name="Version"/>.</summary>
    public sealed record Check(string Path, int Version) : ZooKeeperOp(Path)
    {
        internal override ZooKeeperOpCode OpCode => ZooKeeperOpCode.Check;

        internal override void WriteBody(JuteWriter writer)
        {
            writer.WriteString(Path);
            writer.WriteInt(Version);
        }
    }
}

/// <summary>The outcome of one operation of a multi.</summary>
/// <param name="Error"><see cref="ZooKeeperErrorCode.Ok"/>, the error that failed the multi, or (for the operations that did not fail) <see cref="ZooKeeperErrorCode.RuntimeInconsistency"/>/<see cref="ZooKeeperErrorCode.Ok"/> as the server reports them after a rollback.</param>
/// <param name="CreatedPath">The created znode's path (create only).</param>
/// <param name="Stat">The znode's new stat (setData only).</param>
internal sealed record ZooKeeperOpResult(ZooKeeperErrorCode Error, string? CreatedPath = null, ZooKeeperStat? Stat = null);

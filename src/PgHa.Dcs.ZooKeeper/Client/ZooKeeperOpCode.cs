namespace PgHa.Dcs.ZooKeeper.Client;

/// <summary>Request types of ZooKeeper's client protocol (<c>ZooDefs.OpCode</c>), the ones this client sends.</summary>
internal enum ZooKeeperOpCode
{
    Notification = 0,
    Create = 1,
    Delete = 2,
    Exists = 3,
    GetData = 4,
    SetData = 5,
    Sync = 9,
    Ping = 11,
    GetChildren2 = 12,
    Check = 13,
    Multi = 14,
    Create2 = 15,
    Auth = 100,
    SetWatches = 101,
    CloseSession = -11,
    Error = -1,
}

/// <summary>The reserved xids of requests and notifications that are not answered in request order.</summary>
internal static class ZooKeeperXid
{
    public const int Notification = -1;
    public const int Ping = -2;
    public const int Auth = -4;
    public const int SetWatches = -8;
}

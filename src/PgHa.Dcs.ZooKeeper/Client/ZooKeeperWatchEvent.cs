namespace PgHa.Dcs.ZooKeeper.Client;

/// <summary>What happened to a watched znode (<c>Watcher.Event.EventType</c>).</summary>
internal enum ZooKeeperEventType
{
    None = -1,
    NodeCreated = 1,
    NodeDeleted = 2,
    NodeDataChanged = 3,
    NodeChildrenChanged = 4,
}

/// <summary>A watch notification from the server: a one-shot watch set by exists/getData/getChildren fired.</summary>
/// <param name="Type">The change.</param>
/// <param name="Path">The watched znode.</param>
internal sealed record ZooKeeperWatchEvent(ZooKeeperEventType Type, string Path);

/// <summary>The client's view of its session, reported through <see cref="ZooKeeperClient.StateChanged"/>.</summary>
internal enum ZooKeeperSessionState
{
    /// <summary>A connection carries the session (new, or re-established on any server of the ensemble).</summary>
    Connected,
    /// <summary>The connection was lost; the session may live on and is re-established by the next request.</summary>
    Disconnected,
    /// <summary>The session expired: its ephemeral znodes and watches are gone. The next request opens a new session.</summary>
    Expired,
    /// <summary>The client closed its session or was disposed.</summary>
    Closed,
}

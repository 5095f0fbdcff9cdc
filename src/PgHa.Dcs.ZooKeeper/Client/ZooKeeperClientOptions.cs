using System.Net;

namespace PgHa.Dcs.ZooKeeper.Client;

/// <summary>Settings of one <see cref="ZooKeeperClient"/>.</summary>
internal sealed class ZooKeeperClientOptions
{
    /// <summary>The servers of the ensemble; the client connects to one at a time and moves on to the next when it fails.</summary>
    public required IReadOnlyList<DnsEndPoint> Hosts { get; init; }

    /// <summary>The session timeout asked for when a session is created; the server clamps it to its min/max (by default 2 and 20 ticks).</summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long connecting to one server (TCP connect + session handshake) may take before the next is tried.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A connection whose oldest request has had no answer (and nothing else was received) for this long is dropped, so
    /// the next request goes to another server. Null: two thirds of the negotiated session timeout, as ZooKeeper's own
    /// client does.
    /// </summary>
    public TimeSpan? ReadTimeout { get; init; }

    /// <summary>
    /// Null (the default): no background pings — the session is kept alive only by the requests the caller sends, so
    /// it expires a session timeout after the last of them. Set: a ping is sent after this long without a request,
    /// keeping the session alive for as long as the client is connected (what ordinary ZooKeeper clients do).
    /// </summary>
    public TimeSpan? PingInterval { get; init; }

    /// <summary>Credentials sent on every connection (<c>addauth</c>): scheme and credential bytes, for example <c>digest</c> and <c>user:password</c>.</summary>
    public IReadOnlyList<KeyValuePair<string, byte[]>> Auth { get; init; } = [];
}

using Microsoft.Extensions.Logging;
using PgHa.Dcs;
using PgHa.Loop;
using PgHa.Operations;

namespace PgHa.AspNetCore;

/// <summary>What the REST API serves and with which protections.</summary>
public sealed record RestApiServerOptions
{
    /// <summary><c>host:port</c> to listen on (port 0: any free port).</summary>
    public required string Listen { get; init; }
    /// <summary>The node's state, read on every request (cheap: from memory).</summary>
    public required Func<NodeSnapshot> Snapshot { get; init; }
    /// <summary>Clock for leadership validity, schedules and deadlines.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
    /// <summary>Where Kestrel's and the API's logs go (null: nowhere).</summary>
    public ILoggerProvider? LoggerProvider { get; init; }
    /// <summary>The DCS for <c>/cluster</c>, <c>/history</c>, <c>/config</c> and the mutating endpoints; null: they answer 503.</summary>
    public IDcs? Dcs { get; init; }
    /// <summary>Restart, reinitialize, reload and wake-ups; null: those endpoints answer 503.</summary>
    public INodeOperations? Operations { get; init; }
    /// <summary>Asks peers' status for the switchover candidate check; null: candidates are judged from their member keys.</summary>
    public IPeerStatusClient? Peers { get; init; }
    /// <summary>Reloads the agent's own configuration file (<c>POST /reload</c>, like SIGHUP).</summary>
    public Action? ReloadAgent { get; init; }
    /// <summary>TLS, authentication, allowlist and extra headers (the <c>restapi</c> section); null: plain HTTP, open.</summary>
    public RestApiSecurity? Security { get; init; }
    /// <summary>Largest accepted request body; larger ones get 413 (Patroni has no limit; 1 MiB is far above any real request).</summary>
    public long MaxRequestBodyBytes { get; init; } = 1 << 20;
    /// <summary>
    /// How often <c>POST /switchover</c> re-reads the DCS while waiting for the new leader. Patroni polls every 1 s, which
    /// alone makes its switchover command take seconds; 100 ms answers within a tenth of a second of the new leader
    /// taking the lock, at the cost of ~10 DCS reads per second while a switchover is in flight.
    /// </summary>
    public TimeSpan SwitchoverPollInterval { get; init; } = TimeSpan.FromMilliseconds(100);
    /// <summary>Timeout of one peer status request in the candidate check (Patroni: 2 s).</summary>
    public TimeSpan PeerStatusTimeout { get; init; } = TimeSpan.FromSeconds(2);
}

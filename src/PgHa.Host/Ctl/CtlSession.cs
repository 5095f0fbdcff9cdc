using PgHa.Cluster;
using PgHa.Dcs;
using PgHa.Host.Configuration;

namespace PgHa.Host.Ctl;

/// <summary>One <c>pgha ctl</c> invocation: the configuration (scope possibly named on the command line), and lazily the DCS and REST clients.</summary>
public sealed class CtlSession : IAsyncDisposable
{
    private readonly CtlRuntime _runtime;
    private readonly bool _insecure;
    private IDcs? _dcs;
    private ICtlRest? _rest;

    internal CtlSession(CtlRuntime runtime, PgHaConfig config, bool insecure)
    {
        _runtime = runtime;
        Config = config;
        _insecure = insecure;
    }

    /// <summary>The configuration, with <c>scope</c> set to the cluster being worked on.</summary>
    public PgHaConfig Config { get; private set; }

    /// <summary>The runtime.</summary>
    public CtlRuntime Runtime => _runtime;

    /// <summary>The console.</summary>
    public ICtlConsole Console => _runtime.Console;

    /// <summary>Output.</summary>
    public TextWriter Out => _runtime.Console.Out;

    /// <summary>The cluster name worked on.</summary>
    public string Scope => Config.Scope;

    /// <summary>Switches to another cluster of the same DCS (the optional cluster-name argument of most commands).</summary>
    public async Task UseClusterAsync(string? clusterName)
    {
        if (string.IsNullOrEmpty(clusterName) || clusterName == Config.Scope) return;
        if (_dcs is not null)
        {
            await _dcs.DisposeAsync().ConfigureAwait(false);
            _dcs = null;
        }
        Config = Config with { Scope = clusterName };
    }

    /// <summary>The DCS, connected on first use.</summary>
    public IDcs Dcs => _dcs ??= _runtime.OpenDcs(Config);

    /// <summary>The REST client, created on first use.</summary>
    public ICtlRest Rest => _rest ??= _runtime.OpenRest(Config, _insecure);

    /// <summary>Reads the whole cluster; a DCS that cannot be reached becomes an error saying what to check.</summary>
    public async Task<ClusterState> LoadClusterAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await Dcs.LoadClusterAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DcsUnavailableException ex)
        {
            throw new CtlException($"cannot read cluster {Scope} from the DCS ({Config.Dcs.Kind}): {ex.Message}. Check that the DCS is running and reachable as configured in the {Config.Dcs.Kind} section.", ex);
        }
    }

    /// <summary>Runs a DCS write, turning an unreachable DCS into an error saying what to check.</summary>
    public async Task<T> WriteAsync<T>(Func<IDcs, Task<T>> write, string what)
    {
        ArgumentNullException.ThrowIfNull(write);
        try
        {
            return await write(Dcs).ConfigureAwait(false);
        }
        catch (DcsUnavailableException ex)
        {
            throw new CtlException($"could not {what}: the DCS ({Config.Dcs.Kind}) did not answer: {ex.Message}. The outcome is unknown; check with 'pgha ctl list' once the DCS is reachable.", ex);
        }
    }

    /// <summary>Sends a REST request to a member.</summary>
    public Task<RestReply> RequestAsync(Member member, HttpMethod method, string endpoint, System.Text.Json.Nodes.JsonNode? body, CancellationToken cancellationToken) =>
        Rest.SendAsync(member, method, endpoint, body, cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_dcs is not null) await _dcs.DisposeAsync().ConfigureAwait(false);
        (_rest as IDisposable)?.Dispose();
    }
}

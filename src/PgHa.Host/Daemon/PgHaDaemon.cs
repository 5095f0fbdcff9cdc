using System.Collections;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using PgHa.AspNetCore;
using PgHa.Callbacks;
using PgHa.Dcs;
using PgHa.Host.Configuration;
using PgHa.Loop;
using PgHa.Peers;
using PgHa.Postgres;
using PgHa.Watchdog;

namespace PgHa.Host.Daemon;

/// <summary>
/// <c>pgha run CONFIG</c>: validates the configuration, refuses root, wires the DCS adapter, the PostgreSQL controller,
/// the HA loop and the REST API, then runs until SIGTERM/SIGINT and shuts down in order (PostgreSQL stopped with a
/// checkpoint, the lock released at once). SIGHUP re-reads the configuration.
/// </summary>
public static class PgHaDaemon
{
    /// <summary>Version published in member keys and <c>/patroni</c>; Patroni peers read it as dotted integers.</summary>
    public const string AgentVersion = "3.0.2";

    /// <summary>Runs the node; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string? configPath, IDictionary environment, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (Environment.IsPrivilegedProcess)
        {
            await stderr.WriteLineAsync("pgha: refusing to run as root: PostgreSQL cannot run as root and the agent must own the data directory. " +
                                        "Run pgha as the database user, for example: sudo -u postgres pgha run CONFIG").ConfigureAwait(false);
            return 1;
        }
        var loaded = PgHaConfigLoader.Load(configPath, environment);
        if (!loaded.Succeeded)
        {
            await stderr.WriteLineAsync("pgha: the configuration is not valid; nothing was started:" + Environment.NewLine + loaded.FormatErrors()).ConfigureAwait(false);
            return 1;
        }
        var config = loaded.Config!;
        var dcsChoice = DcsFactory.Choose(config);
        var pgOptions = ComponentOptions.Postgres(config);
        var pgResult = new PostgresControllerOptionsValidator().Validate(null, pgOptions);
        var callbackOptions = ComponentOptions.Callbacks(config);
        var problems = dcsChoice.Problems
            .Concat(pgResult.Failed ? pgResult.Failures.Select(p => "postgresql: " + p) : [])
            .Concat(callbackOptions.Validate().Select(p => "postgresql." + p)).ToList();
        if (problems.Count > 0)
        {
            await stderr.WriteLineAsync("pgha: the configuration is not valid; nothing was started:" + Environment.NewLine + string.Join(Environment.NewLine, problems)).ConfigureAwait(false);
            return 1;
        }

        var time = TimeProvider.System;
        var log = new ConsoleLog(ConsoleLog.ParseLevel(config.Log.Level), time);
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(log));
        var logger = loggers.CreateLogger("pgha");
        foreach (var warning in loaded.Warnings) logger.LogWarning("configuration: {Warning}", warning);

        await using IDcs dcs = dcsChoice.Create(time, loggers);
        using var postgres = new PostgresController(pgOptions, time, loggers.CreateLogger<PostgresController>());
        using var http = PeerHttp.CreateHttpClient(config);
        var peers = PeerHttp.CreateClient(config, http, time, loggers.CreateLogger<HttpPeerStatusClient>());
        var callbacks = callbackOptions.IsEmpty ? null : new PostgresCallbacks(callbackOptions, time, loggers.CreateLogger<PostgresCallbacks>());
        using var watchdog = ComponentOptions.Watchdog(config) is { Mode: not PgHa.Watchdog.WatchdogMode.Off } watchdogOptions
            ? new LeaderWatchdog(watchdogOptions, new LinuxWatchdogDevice(watchdogOptions.Device), loggers.CreateLogger<LeaderWatchdog>())
            : null;
        var loop = new HaLoop(dcs, postgres, peers,
            config.ToHaNodeOptions() with { LocalPostgresParameters = ComponentOptions.LocalParameters(config) }, time, loggers.CreateLogger<HaLoop>(), callbacks)
        {
            Watchdog = watchdog,
        };
        // A dead postmaster is handled now, not at the next loop_wait.
        postgres.PostmasterDied += (_, _) => loop.Wake();
        var reloader = new ConfigReloader(configPath, environment, loaded, loop, log, logger);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void Terminate(PosixSignalContext context)
        {
            context.Cancel = true;
            logger.LogInformation("received {Signal}: shutting down", context.Signal);
            stop.Cancel();
        }
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Terminate);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Terminate);
        using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            reloader.Reload();
        });

        RestApiServer rest;
        try
        {
            rest = await RestApiServer.StartAsync(new RestApiServerOptions
            {
                Listen = config.RestApi.Listen.ToString(),
                Snapshot = () => new NodeSnapshot(config.Scope, config.Identity, loop.Settings, loop.Memory, loop.LastCycle, AgentVersion)
                {
                    ScheduledRestart = loop.ScheduledRestart,
                    WatchdogFailed = loop.WatchdogFailed,
                },
                TimeProvider = time,
                LoggerProvider = log,
                Dcs = dcs,
                Operations = loop,
                Peers = peers,
                ReloadAgent = () => reloader.Reload(),
                Security = config.RestApi.ToSecurity(),
            }, stop.Token).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await stderr.WriteLineAsync($"pgha: restapi.listen: cannot listen on {config.RestApi.Listen}: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (InvalidOperationException ex)
        {
            await stderr.WriteLineAsync($"pgha: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        await using (rest.ConfigureAwait(false))
        {
            logger.LogInformation("pgha {Version} starting: member {Name} of cluster {Scope}, REST API on {Listen}, DCS {Dcs} {Endpoints}",
                AgentVersion, config.Name, config.Scope, config.RestApi.Listen, config.Dcs.Kind, dcsChoice.Endpoints);
            using var trimStop = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            var trimmer = new HeapTrimmer(time, loggers.CreateLogger<HeapTrimmer>()).RunAsync(trimStop.Token);
            try
            {
                await loop.RunAsync(stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            await trimStop.CancelAsync().ConfigureAwait(false);
            await trimmer.ConfigureAwait(false);
            using var shutdownDeadline = new CancellationTokenSource(2 * pgOptions.PgCtlTimeout + TimeSpan.FromSeconds(10), time);
            try
            {
                await loop.ShutdownAsync(shutdownDeadline.Token).ConfigureAwait(false);
                if (!loop.Settings.Pause) await postgres.StopFencerAsync(shutdownDeadline.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                logger.LogError(ex, "shutdown did not complete cleanly");
                return 1;
            }
            logger.LogInformation("stopped");
        }
        return 0;
    }
}

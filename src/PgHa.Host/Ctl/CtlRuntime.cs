using System.Collections;
using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.Logging.Abstractions;
using PgHa.Dcs;
using PgHa.Host.Configuration;
using PgHa.Host.Daemon;

namespace PgHa.Host.Ctl;

/// <summary>The version string <c>pgha</c> reports.</summary>
public static class CtlVersion
{
    /// <summary>The informational version of the <c>pgha</c> assembly.</summary>
    public static string Text { get; } = typeof(CtlVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}

/// <summary>
/// What a <c>pgha ctl</c> command runs against: the console, the clock, the environment and how DCS, REST and editor are
/// reached. The defaults are the real ones; tests replace them.
/// </summary>
public sealed class CtlRuntime
{
    /// <summary>Console for output, errors and confirmations.</summary>
    public ICtlConsole Console { get; init; } = new SystemCtlConsole();

    /// <summary>Clock for waits and timestamps.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Environment variables (configuration overrides, <c>EDITOR</c>, <c>PATRONICTL_CONFIG_FILE</c>).</summary>
    public IDictionary Environment { get; init; } = System.Environment.GetEnvironmentVariables();

    /// <summary>Loads the configuration from the <c>-c</c> path and <c>-d</c> DCS URL (null when not given).</summary>
    public Func<string?, string?, PgHaConfig>? LoadConfig { get; init; }

    /// <summary>Creates the DCS connection for a configuration; the default is the adapter chosen by <see cref="DcsFactory"/>.</summary>
    public Func<PgHaConfig, IDcs>? CreateDcs { get; init; }

    /// <summary>Creates the REST client (configuration, insecure flag).</summary>
    public Func<PgHaConfig, bool, ICtlRest>? CreateRest { get; init; }

    /// <summary>Runs the editor on a file and returns its exit code; the default runs <c>$EDITOR</c>, else <c>editor</c> or <c>vi</c>.</summary>
    public Func<string, int>? RunEditor { get; init; }

    /// <summary>Pause between polls while waiting (reinit <c>--wait</c>: patronictl uses 2 s; pause <c>--wait</c>: 1 s).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one REST call may take (a switchover answers once it is done, up to 2×max(10, loop_wait) s).</summary>
    public TimeSpan RestTimeout { get; init; } = TimeSpan.FromSeconds(120);

    internal PgHaConfig Load(string? path, string? dcsUrl) => LoadConfig is { } load ? load(path, dcsUrl) : CtlConfigLoader.Load(path, Environment, dcsUrl);

    internal IDcs OpenDcs(PgHaConfig config)
    {
        if (CreateDcs is { } create) return create(config);
        var choice = DcsFactory.Choose(config);
        if (choice.Problems.Count > 0)
            throw new CtlException("cannot connect to the DCS: " + string.Join("; ", choice.Problems) + ". Fix the DCS section of the configuration.");
        return choice.Create(Time, NullLoggerFactory.Instance);
    }

    internal ICtlRest OpenRest(PgHaConfig config, bool insecure) => CreateRest is { } create ? create(config, insecure) : new HttpCtlRest(config, insecure, RestTimeout);

    internal int Edit(string file)
    {
        if (RunEditor is { } run) return run(file);
        var editor = Environment["EDITOR"] as string;
        if (string.IsNullOrEmpty(editor))
        {
            editor = new[] { "editor", "vi" }.Select(Which).FirstOrDefault(p => p is not null);
            if (editor is null) throw new CtlException("EDITOR environment variable is not set. editor or vi are not available");
        }
        var start = new ProcessStartInfo(editor) { UseShellExecute = false };
        start.ArgumentList.Add(file);
        using var process = Process.Start(start) ?? throw new CtlException($"could not start the editor '{editor}'; set $EDITOR to an editor that exists");
        process.WaitForExit();
        return process.ExitCode;
    }

    private string? Which(string program)
    {
        foreach (var dir in (Environment["PATH"] as string ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, program);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}

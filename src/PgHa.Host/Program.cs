using System.Globalization;
using System.Reflection;
using PgHa.Decisions;

// pgha: the PgHa daemon and CLI. `run` and `ctl` arrive with the daemon (issue #3/#4); today it offers the timing check.
return PgHaCli.Run(args, Console.Out, Console.Error);

/// <summary>Command-line entry of <c>pgha</c>.</summary>
internal static class PgHaCli
{
    private const string Usage = """
        Usage: pgha <command> [options]

        Commands:
          run [CONFIG]
                     Run this node: the HA agent and its REST API, configured by a Patroni-format YAML file or
                     directory (or PATRONI_CONFIGURATION / PGHA_CONFIGURATION), with PATRONI_* / PGHA_* overrides.
                     Stops PostgreSQL cleanly on SIGTERM; SIGHUP re-reads the configuration.
          ctl [-c CONFIG] list
                     Show the cluster as patronictl does (one DCS read). CONFIG defaults to $PATRONICTL_CONFIG_FILE.
          validate [CONFIG]
                     Check a configuration and print every problem, naming the setting; starts nothing.
          timing --ttl S --loop-wait S --retry-timeout S [--fence-margin S]
                     Check Patroni's timing rule (loop_wait + 2*retry_timeout <= ttl) and show what the values mean:
                     how long a primary cut off from the DCS keeps accepting writes, and the worst-case failover time.
          version    Print the PgHa version.

        Options:
          -h, --help Show help.
        """;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        switch (args[0])
        {
            case "version":
                stdout.WriteLine($"pgha {typeof(PgHaCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown"}");
                return 0;
            case "timing":
                return Timing(args[1..], stdout, stderr);
            case "run":
                if (args.Length > 2 || args.Skip(1).Any(a => a is "-h" or "--help")) { stdout.WriteLine(Usage); return args.Length > 2 ? 2 : 0; }
                return PgHa.Host.Daemon.PgHaDaemon.RunAsync(args.Length > 1 ? args[1] : null, Environment.GetEnvironmentVariables(), stderr, CancellationToken.None).GetAwaiter().GetResult();
            case "validate":
                return Validate(args[1..], stdout, stderr);
            case "ctl":
                return Ctl(args[1..], stdout, stderr);
            default:
                stderr.WriteLine($"pgha: unknown command '{args[0]}'. Run 'pgha --help' for the list of commands.");
                return 2;
        }
    }

    private static int Ctl(string[] args, TextWriter stdout, TextWriter stderr)
    {
        string? path = Environment.GetEnvironmentVariable("PATRONICTL_CONFIG_FILE");
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "-c" or "--config-file")
            {
                if (i + 1 >= args.Length) { stderr.WriteLine("pgha ctl: -c needs a configuration file"); return 2; }
                path = args[++i];
            }
            else if (args[i] is "-h" or "--help") { stdout.WriteLine(Usage); return 0; }
            else rest.Add(args[i]);
        }
        if (rest is not ["list"])
        {
            stderr.WriteLine($"pgha ctl: unknown command '{string.Join(' ', rest)}'; available now: list (the full ctl arrives with issue #4)");
            return 2;
        }
        var loaded = PgHa.Host.Configuration.PgHaConfigLoader.Load(path, Environment.GetEnvironmentVariables());
        if (!loaded.Succeeded)
        {
            stderr.WriteLine(loaded.FormatErrors());
            return 1;
        }
        var config = loaded.Config!;
        var choice = PgHa.Host.Daemon.DcsFactory.Choose(config);
        if (choice.Problems.Count > 0)
        {
            stderr.WriteLine("pgha ctl: " + string.Join(Environment.NewLine, choice.Problems));
            return 1;
        }
        try
        {
            var dcs = choice.Create(TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
            try
            {
                var cluster = dcs.LoadClusterAsync(CancellationToken.None).GetAwaiter().GetResult();
                stdout.Write(PgHa.Host.Ctl.ClusterTable.Render(config.Scope, cluster));
                if (cluster.IsPaused) stdout.WriteLine(" Maintenance mode: on");
                return 0;
            }
            finally
            {
                dcs.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        catch (PgHa.Dcs.DcsUnavailableException ex)
        {
            stderr.WriteLine($"pgha ctl: cannot read the cluster from the DCS: {ex.Message}. Check that {config.Dcs.Kind} is running at {choice.Endpoints}.");
            return 1;
        }
    }

    private static int Validate(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length > 1 || args.Any(a => a is "-h" or "--help"))
        {
            stdout.WriteLine(Usage);
            return args.Length > 1 ? 2 : 0;
        }
        var loaded = PgHa.Host.Configuration.PgHaConfigLoader.Load(args.Length == 1 ? args[0] : null, Environment.GetEnvironmentVariables());
        foreach (var warning in loaded.Warnings) stderr.WriteLine("warning: " + warning);
        if (!loaded.Succeeded)
        {
            stderr.WriteLine(loaded.FormatErrors());
            return 1;
        }
        var config = loaded.Config!;
        stdout.WriteLine($"configuration is valid: member {config.Name} of cluster {config.Scope} ({config.ClusterPrefix}) on {config.Dcs.Kind}");
        return 0;
    }

    private static int Timing(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal) { ["--fence-margin"] = 1 };
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "-h" or "--help")
            {
                stdout.WriteLine(Usage);
                return 0;
            }
            if (args[i] is not ("--ttl" or "--loop-wait" or "--retry-timeout" or "--fence-margin"))
            {
                stderr.WriteLine($"pgha timing: unknown option '{args[i]}'. Expected --ttl, --loop-wait, --retry-timeout, --fence-margin.");
                return 2;
            }
            if (i + 1 >= args.Length || !double.TryParse(args[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !double.IsFinite(seconds))
            {
                stderr.WriteLine($"pgha timing: {args[i]} needs a number of seconds.");
                return 2;
            }
            values[args[i]] = seconds;
            i++;
        }
        foreach (var required in new[] { "--ttl", "--loop-wait", "--retry-timeout" })
        {
            if (!values.ContainsKey(required))
            {
                stderr.WriteLine($"pgha timing: {required} is required.");
                return 2;
            }
        }
        var ttl = TimeSpan.FromSeconds(values["--ttl"]);
        var loopWait = TimeSpan.FromSeconds(values["--loop-wait"]);
        var retry = TimeSpan.FromSeconds(values["--retry-timeout"]);
        var margin = TimeSpan.FromSeconds(values["--fence-margin"]);
        var errors = HaTiming.Validate(ttl, loopWait, retry, margin);
        if (errors.Count > 0)
        {
            foreach (var e in errors) stderr.WriteLine("pgha timing: " + e);
            return 1;
        }
        var inv = CultureInfo.InvariantCulture;
        stdout.WriteLine(string.Format(inv, "ttl={0:0.###}s loop_wait={1:0.###}s retry_timeout={2:0.###}s fence margin={3:0.###}s: valid", ttl.TotalSeconds, loopWait.TotalSeconds, retry.TotalSeconds, margin.TotalSeconds));
        stdout.WriteLine(string.Format(inv, "a primary cut off from the DCS stops accepting writes at most {0:0.###}s after its last successful renewal (etcd)", (ttl - margin).TotalSeconds));
        stdout.WriteLine(string.Format(inv, "the leader renews every {0:0.###}s, so a healthy primary is never fenced unless renewals fail for {1:0.###}s", loopWait.TotalSeconds, (ttl - margin - loopWait).TotalSeconds));
        stdout.WriteLine(string.Format(inv, "worst-case failover after a node dies: about {0:0.###}s (lock expiry + one loop + peer checks)", (ttl + loopWait + TimeSpan.FromSeconds(2)).TotalSeconds));
        return 0;
    }
}

using System.CommandLine;
using System.Globalization;
using PgHa.Decisions;
using PgHa.Host.Ctl;

// pgha: the PgHa daemon and CLI.
PgHa.Host.Daemon.NativeMemory.UseOneMallocArena();
return PgHaCli.Run(args, new CtlRuntime());

/// <summary>Command-line entry of <c>pgha</c>.</summary>
internal static class PgHaCli
{
    /// <summary>Parses <paramref name="args"/> and runs the command; usage errors exit with 2.</summary>
    public static int Run(string[] args, CtlRuntime runtime)
    {
        var stdout = runtime.Console.Out;
        var stderr = runtime.Console.Error;
        // Named "pgha" rather than after the executable (dotnet, testhost) so usage lines are the same however it runs.
        var root = new Command("pgha", "pgha: PostgreSQL high availability, wire-compatible with Patroni 3.0.2.");
        root.Options.Add(new System.CommandLine.Help.HelpOption { Recursive = true });

        var runConfig = new Argument<string?>("CONFIG") { Description = "Patroni-format YAML file or directory (default: PATRONI_CONFIGURATION / PGHA_CONFIGURATION)", Arity = ArgumentArity.ZeroOrOne };
        var run = new Command("run", "Run this node: the HA agent and its REST API, configured by a Patroni-format YAML file or directory (or PATRONI_CONFIGURATION / PGHA_CONFIGURATION), with PATRONI_* / PGHA_* overrides. Stops PostgreSQL cleanly on SIGTERM; SIGHUP re-reads the configuration.") { runConfig };
        run.SetAction(parse => PgHa.Host.Daemon.PgHaDaemon.RunAsync(parse.GetValue(runConfig), Environment.GetEnvironmentVariables(), stderr, CancellationToken.None).GetAwaiter().GetResult());

        var validateConfig = new Argument<string?>("CONFIG") { Description = "Configuration file or directory to check", Arity = ArgumentArity.ZeroOrOne };
        var validate = new Command("validate", "Check a configuration and print every problem, naming the setting; starts nothing.") { validateConfig };
        validate.SetAction(parse => Validate(parse.GetValue(validateConfig), stdout, stderr));

        var ttl = new Option<string?>("--ttl") { Description = "Leader lock TTL in seconds" };
        var loopWait = new Option<string?>("--loop-wait") { Description = "HA loop interval in seconds" };
        var retryTimeout = new Option<string?>("--retry-timeout") { Description = "DCS and PostgreSQL retry window in seconds" };
        var fenceMargin = new Option<string?>("--fence-margin") { Description = "Write fence safety margin in seconds (default 1)" };
        var timing = new Command("timing", "Check Patroni's timing rule (loop_wait + 2*retry_timeout <= ttl) and show what the values mean: how long a primary cut off from the DCS keeps accepting writes, and the worst-case failover time.") { ttl, loopWait, retryTimeout, fenceMargin };
        timing.SetAction(parse => Timing(parse.GetValue(ttl), parse.GetValue(loopWait), parse.GetValue(retryTimeout), parse.GetValue(fenceMargin), stdout, stderr));

        var version = new Command("version", "Print the PgHa version.");
        version.SetAction(_ => { stdout.WriteLine($"pgha {CtlVersion.Text}"); return 0; });

        root.Subcommands.Add(run);
        root.Subcommands.Add(CtlCommandLine.Build(runtime));
        root.Subcommands.Add(validate);
        root.Subcommands.Add(timing);
        root.Subcommands.Add(version);
        root.SetAction(parse =>
        {
            parse.RootCommandResult.Command.Parse("--help").Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
            return 2;
        });

        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var error in result.Errors) stderr.WriteLine($"pgha: {error.Message}");
            var path = string.Join(' ', CommandPath(result.CommandResult));
            stderr.WriteLine($"Run '{path} --help' for usage.");
            return 2;
        }
        return result.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
    }

    private static IEnumerable<string> CommandPath(System.CommandLine.Parsing.CommandResult? result)
    {
        var names = new Stack<string>();
        for (var r = result; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Push(r.Parent is null ? "pgha" : r.Command.Name);
        return names;
    }

    private static int Validate(string? path, TextWriter stdout, TextWriter stderr)
    {
        var loaded = PgHa.Host.Configuration.PgHaConfigLoader.Load(path, Environment.GetEnvironmentVariables());
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

    private static int Timing(string? ttlText, string? loopWaitText, string? retryText, string? marginText, TextWriter stdout, TextWriter stderr)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal) { ["--fence-margin"] = 1 };
        foreach (var (name, text) in new[] { ("--ttl", ttlText), ("--loop-wait", loopWaitText), ("--retry-timeout", retryText), ("--fence-margin", marginText) })
        {
            if (text is null) continue;
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !double.IsFinite(seconds))
            {
                stderr.WriteLine($"pgha timing: {name} needs a number of seconds.");
                return 2;
            }
            values[name] = seconds;
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

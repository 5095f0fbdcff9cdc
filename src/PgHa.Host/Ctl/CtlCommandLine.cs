using System.CommandLine;

namespace PgHa.Host.Ctl;

/// <summary>The <c>pgha ctl</c> command tree: patronictl 3.0.2's commands, options and defaults on System.CommandLine.</summary>
public static class CtlCommandLine
{
    private static readonly Option<string?> ConfigFile = new("--config-file", "-c")
    {
        Description = "Configuration file (default: $PATRONICTL_CONFIG_FILE, else ~/.config/patroni/patronictl.yaml; a node's own file works)",
        Recursive = true,
    };

    private static readonly Option<string?> DcsUrl = new("--dcs-url", "--dcs", "-d")
    {
        Description = "The DCS connect url, e.g. etcd3://127.0.0.1:2379 (default: $DCS_URL); replaces the DCS section of the configuration",
        Recursive = true,
    };

    private static readonly Option<bool> Insecure = new("--insecure", "-k")
    {
        Description = "Allow connections to SSL sites without certs",
        Recursive = true,
    };

    /// <summary>Builds <c>ctl</c> with every subcommand bound to <paramref name="runtime"/>.</summary>
    public static Command Build(CtlRuntime runtime)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var ctl = new Command("ctl", "Operate a cluster as patronictl does: read its state from the DCS, act through the members' REST API.");
        ctl.Options.Add(ConfigFile);
        ctl.Options.Add(DcsUrl);
        ctl.Options.Add(Insecure);
        ctl.Subcommands.Add(List(runtime, "list", "List the Patroni members for a given Patroni", topology: false));
        ctl.Subcommands.Add(List(runtime, "topology", "Prints ASCII topology for given cluster", topology: true));
        ctl.Subcommands.Add(Switchover(runtime, "switchover", "Switchover to a replica"));
        ctl.Subcommands.Add(Switchover(runtime, "failover", "Failover to a replica"));
        ctl.Subcommands.Add(Restart(runtime));
        ctl.Subcommands.Add(Reload(runtime));
        ctl.Subcommands.Add(Reinit(runtime));
        ctl.Subcommands.Add(Pause(runtime, "pause", "Disable auto failover", paused: true));
        ctl.Subcommands.Add(Pause(runtime, "resume", "Resume auto failover", paused: false));
        ctl.Subcommands.Add(EditConfig(runtime));
        ctl.Subcommands.Add(ShowConfig(runtime));
        ctl.Subcommands.Add(History(runtime));
        ctl.Subcommands.Add(Remove(runtime));
        ctl.Subcommands.Add(Dsn(runtime));
        ctl.Subcommands.Add(Flush(runtime));
        ctl.Subcommands.Add(Version(runtime));
        ctl.SetAction(parse =>
        {
            runtime.Console.Error.WriteLine("pgha ctl: name a command (list, topology, switchover, failover, restart, reload, reinit, pause, resume, edit-config, show-config, history, remove, dsn, flush, version); see 'pgha ctl --help'.");
            return 2;
        });
        return ctl;
    }

    /// <summary>Runs <paramref name="body"/> with a session for the configuration named by <c>-c</c>; errors become <c>Error: …</c> and an exit code.</summary>
    private static async Task<int> Execute(CtlRuntime runtime, ParseResult parse, Func<CtlSession, Task<int>> body, CancellationToken cancellationToken)
    {
        try
        {
            var config = runtime.Load(parse.GetValue(ConfigFile), parse.GetValue(DcsUrl));
            var session = new CtlSession(runtime, config, parse.GetValue(Insecure));
            await using (session.ConfigureAwait(false))
                return await body(session).ConfigureAwait(false);
        }
        catch (CtlException ex)
        {
            runtime.Console.Error.WriteLine("Error: " + ex.Message);
            return ex.ExitCode;
        }
        catch (MemberUnreachableException ex)
        {
            runtime.Console.Error.WriteLine($"Error: {ex.Message}. Check that the member's agent is running and its REST API is reachable from here.");
            return 1;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 130;
        }
    }

    private static Option<bool> ForceOption() => new("--force") { Description = "Do not ask for confirmation at any point" };

    private static Option<string> RoleOption(string description, string? defaultValue)
    {
        var option = new Option<string>("--role", "-r") { Description = description };
        if (defaultValue is not null) option.DefaultValueFactory = _ => defaultValue;
        option.AcceptOnlyFromAmong(CtlMembers.Roles);
        return option;
    }

    private static Argument<string?> OptionalCluster() => new("cluster_name") { Description = "Cluster name (default: scope from the configuration)", Arity = ArgumentArity.ZeroOrOne };

    private static Argument<string> RequiredCluster() => new("cluster_name") { Description = "Cluster name" };

    private static Argument<string[]> MemberNames() => new("member_names") { Description = "Members (default: all with the role)", Arity = ArgumentArity.ZeroOrMore };

    private static Option<string> FormatOption()
    {
        var option = new Option<string>("--format", "-f") { Description = "Output format (pretty, tsv, json, yaml)", DefaultValueFactory = _ => "pretty" };
        option.AcceptOnlyFromAmong("pretty", "tsv", "json", "yaml", "yml");
        return option;
    }

    private static Command List(CtlRuntime runtime, string name, string description, bool topology)
    {
        var clusters = new Argument<string[]>("cluster_names") { Description = "Clusters to show (default: scope from the configuration)", Arity = ArgumentArity.ZeroOrMore };
        var extended = new Option<bool>("--extended", "-e") { Description = "Show some extra information" };
        var timestamp = new Option<bool>("--timestamp", "-t") { Description = "Print timestamp" };
        var format = FormatOption();
        var watchFlag = new Option<bool>("-W") { Description = "Auto update the screen every 2 seconds" };
        var watch = new Option<double?>("--watch", "-w") { Description = "Auto update the screen every X seconds" };
        var command = new Command(name, description) { clusters, watchFlag, watch };
        if (!topology)
        {
            command.Options.Add(extended);
            command.Options.Add(timestamp);
            command.Options.Add(format);
        }
        command.SetAction((parse, ct) => Execute(runtime, parse, session =>
        {
            TimeSpan? interval = parse.GetValue(watch) is { } seconds ? TimeSpan.FromSeconds(seconds) : parse.GetValue(watchFlag) ? TimeSpan.FromSeconds(2) : null;
            if (interval is { } i && i <= TimeSpan.Zero) throw new CtlException("--watch needs a positive number of seconds", 2);
            var fmt = topology ? OutputFormat.Topology : TableOutput.Parse(parse.GetValue(format)!);
            return CtlCommands.ListAsync(session, parse.GetValue(clusters) ?? [], !topology && parse.GetValue(extended), !topology && parse.GetValue(timestamp), fmt, interval, ct);
        }, ct));
        return command;
    }

    private static Command Switchover(CtlRuntime runtime, string action, string description)
    {
        var cluster = OptionalCluster();
        var leader = new Option<string?>("--leader", "--primary", "--master") { Description = "The name of the current leader" };
        var candidate = new Option<string?>("--candidate") { Description = "The name of the candidate" };
        var scheduled = new Option<string?>("--scheduled") { Description = "Timestamp of a scheduled switchover in unambiguous format (e.g. ISO 8601)" };
        var force = ForceOption();
        var command = new Command(action, description) { cluster, leader, candidate, force };
        if (action == "switchover") command.Options.Add(scheduled);
        command.SetAction((parse, ct) => Execute(runtime, parse, session =>
        {
            var leaderName = parse.GetValue(leader);
            // As patronictl: a failover that names the leader is a switchover.
            var effective = action == "failover" && leaderName is not null ? "switchover" : action;
            return CtlCommands.FailoverOrSwitchoverAsync(session, effective, parse.GetValue(cluster), leaderName, parse.GetValue(candidate), parse.GetValue(force),
                action == "switchover" ? parse.GetValue(scheduled) : null, ct);
        }, ct));
        return command;
    }

    private static Command Restart(CtlRuntime runtime)
    {
        var cluster = RequiredCluster();
        var members = MemberNames();
        var role = RoleOption("Restart only members with this role", "any");
        var any = new Option<bool>("--any") { Description = "Restart a single member only" };
        var scheduled = new Option<string?>("--scheduled") { Description = "Timestamp of a scheduled restart in unambiguous format (e.g. ISO 8601)" };
        var version = new Option<string?>("--pg-version") { Description = "Restart if the PostgreSQL version is less than provided (e.g. 9.5.2)" };
        var pending = new Option<bool>("--pending") { Description = "Restart if pending" };
        var timeout = new Option<string?>("--timeout") { Description = "Return error and fail over if necessary when restarting takes longer than this." };
        var force = ForceOption();
        var command = new Command("restart", "Restart cluster member") { cluster, members, role, any, scheduled, version, pending, timeout, force };
        command.SetAction((parse, ct) => Execute(runtime, parse, session => CtlCommands.RestartAsync(session, parse.GetValue(cluster)!,
            new RestartRequestOptions(parse.GetValue(members) ?? [], parse.GetValue(role)!, parse.GetValue(any), parse.GetValue(scheduled), parse.GetValue(version),
                parse.GetValue(pending), parse.GetValue(timeout), parse.GetValue(force)), ct), ct));
        return command;
    }

    private static Command Reload(CtlRuntime runtime)
    {
        var cluster = RequiredCluster();
        var members = MemberNames();
        var role = RoleOption("Reload only members with this role", "any");
        var force = ForceOption();
        var command = new Command("reload", "Reload cluster member configuration") { cluster, members, role, force };
        command.SetAction((parse, ct) => Execute(runtime, parse, session =>
            CtlCommands.ReloadAsync(session, parse.GetValue(cluster)!, parse.GetValue(members) ?? [], parse.GetValue(role)!, parse.GetValue(force), ct), ct));
        return command;
    }

    private static Command Reinit(CtlRuntime runtime)
    {
        var cluster = RequiredCluster();
        var members = MemberNames();
        var force = ForceOption();
        var wait = new Option<bool>("--wait") { Description = "Wait until reinitialization completes" };
        var command = new Command("reinit", "Reinitialize cluster member") { cluster, members, force, wait };
        command.SetAction((parse, ct) => Execute(runtime, parse, session =>
            CtlCommands.ReinitAsync(session, parse.GetValue(cluster)!, parse.GetValue(members) ?? [], parse.GetValue(force), parse.GetValue(wait), ct), ct));
        return command;
    }

    private static Command Pause(CtlRuntime runtime, string name, string description, bool paused)
    {
        var cluster = OptionalCluster();
        var wait = new Option<bool>("--wait") { Description = paused ? "Wait until pause is applied on all nodes" : "Wait until pause is cleared on all nodes" };
        var command = new Command(name, description) { cluster, wait };
        command.SetAction((parse, ct) => Execute(runtime, parse, session =>
            CtlCommands.TogglePauseAsync(session, parse.GetValue(cluster), paused, parse.GetValue(wait), ct), ct));
        return command;
    }

    private static Command EditConfig(CtlRuntime runtime)
    {
        var cluster = OptionalCluster();
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Do not show changes" };
        var set = new Option<string[]>("--set", "-s") { Description = "Set specific configuration value. Can be specified multiple times", AllowMultipleArgumentsPerToken = false };
        var pg = new Option<string[]>("--pg", "-p") { Description = "Set specific PostgreSQL parameter value. Shorthand for -s postgresql.parameters. Can be specified multiple times" };
        var apply = new Option<string?>("--apply") { Description = "Apply configuration from file. Use - for stdin." };
        var replace = new Option<string?>("--replace") { Description = "Apply configuration from file, replacing existing configuration. Use - for stdin." };
        var force = ForceOption();
        var command = new Command("edit-config", "Edit cluster configuration (opens $EDITOR when no change is given)") { cluster, quiet, set, pg, apply, replace, force };
        command.SetAction((parse, ct) => Execute(runtime, parse, session => CtlCommands.EditConfigAsync(session, parse.GetValue(cluster),
            new EditConfigRequest(parse.GetValue(set) ?? [], parse.GetValue(pg) ?? [], parse.GetValue(apply), parse.GetValue(replace), parse.GetValue(force), parse.GetValue(quiet)), ct), ct));
        return command;
    }

    private static Command ShowConfig(CtlRuntime runtime)
    {
        var cluster = OptionalCluster();
        var command = new Command("show-config", "Show cluster configuration") { cluster };
        command.SetAction((parse, ct) => Execute(runtime, parse, session => CtlCommands.ShowConfigAsync(session, parse.GetValue(cluster), ct), ct));
        return command;
    }

    private static Command History(CtlRuntime runtime)
    {
        var cluster = OptionalCluster();
        var format = FormatOption();
        var command = new Command("history", "Show the history of failovers/switchovers") { cluster, format };
        command.SetAction((parse, ct) => Execute(runtime, parse, session =>
            CtlCommands.HistoryAsync(session, parse.GetValue(cluster), TableOutput.Parse(parse.GetValue(format)!), ct), ct));
        return command;
    }

    private static Command Remove(CtlRuntime runtime)
    {
        var cluster = RequiredCluster();
        var format = FormatOption();
        var command = new Command("remove", "Remove cluster from DCS") { cluster, format };
        command.SetAction((parse, ct) => Execute(runtime, parse, session =>
            CtlCommands.RemoveAsync(session, parse.GetValue(cluster)!, TableOutput.Parse(parse.GetValue(format)!), ct), ct));
        return command;
    }

    private static Command Dsn(CtlRuntime runtime)
    {
        var cluster = OptionalCluster();
        var role = RoleOption("Give a dsn of any member with this role", null);
        var member = new Option<string?>("--member", "-m") { Description = "Generate a dsn for this member" };
        var command = new Command("dsn", "Generate a dsn for the provided member, defaults to a dsn of the leader") { cluster, role, member };
        command.SetAction((parse, ct) => Execute(runtime, parse, session =>
            CtlCommands.DsnAsync(session, parse.GetValue(cluster), parse.GetValue(role), parse.GetValue(member), ct), ct));
        return command;
    }

    private static Command Flush(CtlRuntime runtime)
    {
        var args = new Argument<string[]>("cluster_name [member_names]... {restart|switchover}") { Description = "Cluster name, optional members, then what to discard: restart or switchover", Arity = ArgumentArity.OneOrMore };
        var role = RoleOption("Flush only members with this role", "any");
        var force = ForceOption();
        var command = new Command("flush", "Discard scheduled events") { args, role, force };
        command.SetAction((parse, ct) => Execute(runtime, parse, session =>
        {
            var values = parse.GetValue(args) ?? [];
            if (values.Length < 2 || values[^1] is not ("restart" or "switchover"))
                throw new CtlException("flush needs CLUSTER_NAME [MEMBER_NAMES]... followed by 'restart' or 'switchover', e.g. pgha ctl flush batman switchover", 2);
            return CtlCommands.FlushAsync(session, values[0], values[1..^1], values[^1], parse.GetValue(role)!, parse.GetValue(force), ct);
        }, ct));
        return command;
    }

    private static Command Version(CtlRuntime runtime)
    {
        var cluster = new Argument<string?>("cluster_name") { Description = "Also show the versions running in this cluster", Arity = ArgumentArity.ZeroOrOne };
        var members = MemberNames();
        var command = new Command("version", "Output version of pgha ctl or a running member") { cluster, members };
        command.SetAction((parse, ct) =>
        {
            if (parse.GetValue(cluster) is not { Length: > 0 } name)
                return CtlCommands.VersionAsync(null, runtime.Console, null, [], ct);
            return Execute(runtime, parse, session => CtlCommands.VersionAsync(session, runtime.Console, name, parse.GetValue(members) ?? [], ct), ct);
        });
        return command;
    }
}

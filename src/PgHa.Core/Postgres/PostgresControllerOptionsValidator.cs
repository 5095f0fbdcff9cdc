using Microsoft.Extensions.Options;

namespace PgHa.Postgres;

/// <summary>Checks a <see cref="PostgresControllerOptions"/> before the controller uses it; every problem is reported, not just the first.</summary>
public sealed class PostgresControllerOptionsValidator : IValidateOptions<PostgresControllerOptions>
{
    /// <summary>Settings PgHa always writes itself; configuring them under <c>parameters</c> is an error.</summary>
    public static IReadOnlySet<string> ReservedParameters { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "listen_addresses", "port", "cluster_name", "hot_standby", "unix_socket_directories", "primary_conninfo",
        "primary_slot_name", "recovery_target_timeline",
    };

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, PostgresControllerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        RequireAbsolute(errors, "data_dir", options.DataDirectory, required: true);
        RequireAbsolute(errors, "bin_dir", options.BinDirectory, required: false);
        RequireAbsolute(errors, "state directory", options.StateDirectory, required: false);
        RequireAbsolute(errors, "unix socket directory", options.UnixSocketDirectory, required: false);
        RequireAbsolute(errors, "post_bootstrap", options.PostBootstrap, required: false);
        RequireAbsolute(errors, "pgpass", options.PgPassFile, required: false);
        if (!ListenAddress.TryParse(options.Listen, out _))
            errors.Add($"listen '{options.Listen}' is not host[,host…]:port with a port in 1-65535");
        if (options.ConnectAddress.Length > 0 && !ListenAddress.TryParse(options.ConnectAddress, out _))
            errors.Add($"connect_address '{options.ConnectAddress}' is not host:port with a port in 1-65535");
        if (string.IsNullOrWhiteSpace(options.Scope)) errors.Add("scope (cluster_name) is required");
        if (string.IsNullOrWhiteSpace(options.MemberName)) errors.Add("name (the member name) is required");
        CheckCredentials(errors, "superuser", options.Superuser);
        CheckCredentials(errors, "replication", options.Replication);
        if (options.Rewind is not null) CheckCredentials(errors, "rewind", options.Rewind);
        if (options.PgCtlTimeout < TimeSpan.FromSeconds(1)) errors.Add("pg_ctl_timeout must be at least 1 s");
        if (options.FencePollInterval < TimeSpan.FromMilliseconds(5) || options.FencePollInterval > TimeSpan.FromMilliseconds(500))
            errors.Add("the fence poll interval must be between 5 and 500 ms");
        if (options.ConnectTimeout < TimeSpan.FromSeconds(1)) errors.Add("the connect timeout must be at least 1 s");
        if (options.QueryTimeout < TimeSpan.FromSeconds(1)) errors.Add("the query timeout must be at least 1 s");
        foreach (var key in options.Parameters.Keys)
        {
            if (ReservedParameters.Contains(key)) errors.Add($"parameters.{key} is set by PgHa itself and may not be configured");
            else if (!PostgresConfigFiles.IsValidParameterName(key)) errors.Add($"parameters: '{key}' is not a valid setting name");
        }
        foreach (var option in options.InitdbOptions)
        {
            var key = option.Split('=', 2)[0].TrimStart('-');
            if (key.Length == 0) errors.Add("initdb: empty option");
            else if (key is "username" or "U" or "pwfile" or "pgdata" or "D")
                errors.Add($"initdb: '{option}' is set by PgHa itself (from data_dir and authentication.superuser)");
        }
        foreach (var option in options.BasebackupOptions)
        {
            var key = option.Split('=', 2)[0].TrimStart('-');
            if (key.Length == 0) errors.Add("basebackup: empty option");
            else if (key is "pgdata" or "D" or "host" or "h" or "port" or "p" or "username" or "U" or "write-recovery-conf" or "R")
                errors.Add($"basebackup: '{option}' is set by PgHa itself");
        }
        CheckMethods(errors, options);
        if (options.DataDirectory.Length > 0 && Path.IsPathFullyQualified(options.DataDirectory))
        {
            var data = Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.DataDirectory));
            var state = Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.EffectiveStateDirectory));
            if (state == data || state.StartsWith(data + "/", StringComparison.Ordinal))
                errors.Add("the state directory must be outside the data directory (pg_basebackup and pg_rewind copy the data directory)");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckMethods(List<string> errors, PostgresControllerOptions options)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var method in options.CreateReplicaMethods)
        {
            if (string.IsNullOrWhiteSpace(method.Name)) errors.Add("create_replica_methods: empty method name");
            else if (!seen.Add(method.Name)) errors.Add($"create_replica_methods: '{method.Name}' is listed twice");
            if (!method.IsBasebackup) CheckCommand(errors, $"postgresql.{method.Name}.command", method.Command ?? method.Name);
        }
        foreach (var method in options.OtherReplicaMethods)
        {
            if (string.IsNullOrWhiteSpace(method.Name) || method.IsBasebackup) errors.Add($"replica method section '{method.Name}': not the name of a custom method");
            else if (!seen.Add(method.Name)) errors.Add($"replica method '{method.Name}' is defined twice");
            else CheckCommand(errors, $"postgresql.{method.Name}.command", method.Command ?? method.Name);
        }
        if (options.BootstrapMethod is { } bootstrap)
        {
            if (bootstrap.Name is "" or "initdb") errors.Add($"bootstrap.method: '{bootstrap.Name}' is not the name of a custom method");
            CheckCommand(errors, $"bootstrap.{bootstrap.Name}.command", bootstrap.Command);
            foreach (var (key, _) in bootstrap.RecoveryConf)
                if (!PostgresConfigFiles.IsValidParameterName(key)) errors.Add($"bootstrap.{bootstrap.Name}.recovery_conf: '{key}' is not a valid setting name");
        }
        foreach (var key in options.RecoveryConf.Keys)
        {
            if (key is "primary_conninfo" or "primary_slot_name" or "recovery_target_timeline" or "standby_mode")
                errors.Add($"recovery_conf.{key} is set by PgHa itself and may not be configured");
            else if (!PostgresConfigFiles.IsValidParameterName(key)) errors.Add($"recovery_conf: '{key}' is not a valid setting name");
        }
    }

    private static void CheckCommand(List<string> errors, string what, string command)
    {
        try
        {
            CommandLine.Split(command);
        }
        catch (FormatException ex)
        {
            errors.Add($"{what}: {ex.Message}");
        }
    }

    private static void RequireAbsolute(List<string> errors, string what, string path, bool required)
    {
        if (path.Length == 0)
        {
            if (required) errors.Add($"{what} is required");
        }
        else if (!Path.IsPathFullyQualified(path)) errors.Add($"{what} '{path}' must be an absolute path");
    }

    private static void CheckCredentials(List<string> errors, string what, PostgresCredentials? credentials)
    {
        if (credentials is null || string.IsNullOrWhiteSpace(credentials.Username))
            errors.Add($"authentication.{what}.username is required");
        if (credentials is not null)
            foreach (var problem in credentials.EffectiveConnection.Problems()) errors.Add($"authentication.{what}.{problem}");
    }
}

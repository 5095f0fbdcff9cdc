namespace PgHa.Postgres;

/// <summary>
/// One entry of <c>create_replica_methods</c>: the built-in <c>basebackup</c> (pg_basebackup from the clone source), or
/// a custom command such as a backup tool's restore. Methods are tried in order; the first that exits 0 and leaves an
/// initialized data directory wins, and a failing one falls back to the next.
/// </summary>
/// <param name="Name">The method's name (<c>basebackup</c> for the built-in one).</param>
public sealed record ReplicaCreationMethod(string Name)
{
    /// <summary>The name of the built-in pg_basebackup method.</summary>
    public const string BasebackupName = "basebackup";

    /// <summary>The built-in method, used when no method is configured.</summary>
    public static ReplicaCreationMethod Basebackup { get; } = new(BasebackupName);

    /// <summary>
    /// The custom method's command line (split like a shell does, run without one). Null for <c>basebackup</c>; for a
    /// custom method without a command, the method's name is the command, as in Patroni.
    /// </summary>
    public string? Command { get; init; }

    /// <summary><c>no_leader</c> (alias <c>no_master</c>): the method can create a replica with no member to copy from (a restore from a backup).</summary>
    public bool NoLeader { get; init; }

    /// <summary><c>keep_data</c>: the data directory is not emptied before the command runs (nor after it fails).</summary>
    public bool KeepData { get; init; }

    /// <summary><c>no_params</c>: the command gets only its own parameters, not <c>--scope</c>, <c>--role</c>, <c>--datadir</c>, <c>--connstring</c>.</summary>
    public bool NoParams { get; init; }

    /// <summary>The method's other keys, passed to the command as <c>--key=value</c> in this order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; init; } = [];

    /// <summary>True for the built-in pg_basebackup method.</summary>
    public bool IsBasebackup => Name == BasebackupName;

    /// <summary>True when the method can run without a clone source (a custom method with <c>no_leader</c>).</summary>
    public bool WorksWithoutLeader => !IsBasebackup && NoLeader;
}

/// <summary>
/// A custom <c>bootstrap.method</c>: a command run instead of initdb to create the first primary's data directory (for
/// example a restore from a backup).
/// </summary>
/// <param name="Name">The method's name (the <c>bootstrap.&lt;name&gt;</c> section).</param>
/// <param name="Command">The command line (split like a shell does, run without one).</param>
public sealed record CustomBootstrapMethod(string Name, string Command)
{
    /// <summary><c>no_params</c>: do not pass <c>--scope</c> and <c>--datadir</c>.</summary>
    public bool NoParams { get; init; }

    /// <summary>
    /// <c>keep_existing_recovery_conf</c>: keep the <c>standby.signal</c>/<c>recovery.signal</c> the command left
    /// (a backup tool that writes its own recovery settings into <c>postgresql.auto.conf</c>); otherwise they are removed.
    /// </summary>
    public bool KeepExistingRecoveryConf { get; init; }

    /// <summary>
    /// <c>recovery_conf</c>: recovery settings (<c>restore_command</c>, <c>recovery_target_*</c>, …) for the first
    /// start, which then runs as a targeted recovery (<c>recovery.signal</c>); the new primary is usable once
    /// PostgreSQL has left recovery. Empty: none.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> RecoveryConf { get; init; } = [];

    /// <summary>The method's other keys, passed to the command as <c>--key=value</c> in this order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; init; } = [];
}

namespace PgHa.Postgres;

/// <summary>Data of <see cref="PostgresController.PostmasterDied"/>.</summary>
/// <param name="Pid">The postmaster's process id.</param>
public sealed class PostmasterDiedEventArgs(int Pid) : EventArgs
{
    /// <summary>The postmaster's process id.</summary>
    public int Pid { get; } = Pid;
}

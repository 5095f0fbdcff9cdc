namespace PgHa.Decisions;

/// <summary>
/// The primary's flush position right after <c>synchronous_standby_names</c> was last set to <paramref name="Value"/>.
/// A standby newly named there counts as synchronous (and may enter the <c>sync</c> key) only once it has flushed this
/// far: commits acknowledged before the change did not wait for it.
/// </summary>
/// <param name="Value">The value that was set.</param>
/// <param name="FlushLsn">The primary's flush LSN observed after the reload, in bytes.</param>
public sealed record SynchronousStandbyBaseline(string Value, long FlushLsn);

namespace PgHa.Decisions;

/// <summary>A PostgreSQL parameter whose new value only takes effect after a restart (Patroni's <c>pending_restart_reason</c> entry).</summary>
/// <param name="Name">Parameter name.</param>
/// <param name="OldValue">The value the running server uses.</param>
/// <param name="NewValue">The value configured, applied at the next restart.</param>
public sealed record PendingParameter(string Name, string OldValue, string NewValue);

namespace PgHa.ConsulTestServer;

/// <summary>One key of the KV store as Consul reports it (<c>GET /v1/kv/:key</c>).</summary>
/// <param name="Key">The full key, without a leading slash.</param>
/// <param name="Value">The raw value (sent base64-encoded).</param>
/// <param name="Flags">The opaque 64-bit flags stored with the value.</param>
/// <param name="CreateIndex">The index at which the key was created.</param>
/// <param name="ModifyIndex">The index of the last write to the key.</param>
/// <param name="LockIndex">How many times the key has been acquired by a session.</param>
/// <param name="Session">The session holding the lock on the key, or null.</param>
public sealed record KvEntry(string Key, byte[] Value, ulong Flags, ulong CreateIndex, ulong ModifyIndex, ulong LockIndex, string? Session);

/// <summary>What a KV read found and the index the response carries in <c>X-Consul-Index</c>.</summary>
/// <param name="Entries">The matching keys, ordered by key; empty when none.</param>
/// <param name="Index">The index of the result (never 0).</param>
public sealed record KvReadResult(IReadOnlyList<KvEntry> Entries, ulong Index);

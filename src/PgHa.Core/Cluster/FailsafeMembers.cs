using System.Collections.Immutable;

namespace PgHa.Cluster;

/// <summary>The <c>failsafe</c> key: every member the leader knew (name → api_url) when failsafe mode is on.</summary>
/// <param name="Members">Member name → REST API url.</param>
/// <param name="Version">CAS token of the key.</param>
/// <param name="RawJson">The value as read.</param>
public sealed record FailsafeMembers(ImmutableDictionary<string, string> Members, DcsVersion Version, string? RawJson = null);

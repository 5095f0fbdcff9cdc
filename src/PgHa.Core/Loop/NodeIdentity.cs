namespace PgHa.Loop;

/// <summary>How this node presents itself in its member key.</summary>
/// <param name="Name">Member name.</param>
/// <param name="ConnUrl"><c>postgres://host:port/postgres</c>.</param>
/// <param name="ApiUrl"><c>http://host:port/patroni</c>.</param>
/// <param name="AgentVersion">Version string published as <c>version</c>; Patroni peers parse it as dotted integers.</param>
public sealed record NodeIdentity(string Name, string ConnUrl, string ApiUrl, string AgentVersion = "3.0.2");

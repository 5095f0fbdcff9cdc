namespace PgHa.Hosting;

/// <summary>
/// Which DCS adapter a service collection uses, registered once by the <c>Use…</c> methods; a second choice of another
/// kind is a configuration mistake and is refused instead of silently replacing the first.
/// </summary>
/// <param name="Kind">The adapter's name, for example <c>etcd3</c>, <c>consul</c> or a custom type's name.</param>
public sealed record PgHaDcsChoice(string Kind);

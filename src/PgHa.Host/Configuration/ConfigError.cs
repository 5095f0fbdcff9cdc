namespace PgHa.Host.Configuration;

/// <summary>One problem with the configuration: the full key path, what is wrong, and where it was set.</summary>
/// <param name="Path">Dotted key path (<c>postgresql.authentication.superuser.password</c>, <c>bootstrap.initdb[2]</c>); empty for the document itself.</param>
/// <param name="Problem">What is wrong. Never contains the value of a secret.</param>
/// <param name="Source">Where the offending setting was written, when known.</param>
public sealed record ConfigError(string Path, string Problem, ConfigSource? Source)
{
    /// <summary><c>path: problem</c>.</summary>
    public string Message => Path.Length == 0 ? Problem : $"{Path}: {Problem}";

    /// <summary><c>source: path: problem</c>, the line printed to the operator.</summary>
    public override string ToString() => Source is null ? Message : $"{Source}: {Message}";
}

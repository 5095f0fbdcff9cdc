namespace PgHa.Host.Configuration;

/// <summary>Where a setting came from: a file position, or an environment variable.</summary>
/// <param name="Origin">A file path, or an environment variable name prefixed with <c>$</c>.</param>
/// <param name="Line">1-based line in the file or variable (0 when unknown or not applicable).</param>
/// <param name="Column">1-based column (0 when unknown).</param>
public sealed record ConfigSource(string Origin, int Line = 0, int Column = 0)
{
    /// <summary>A value set by an environment variable.</summary>
    public static ConfigSource Environment(string variable) => new("$" + variable);

    /// <summary>True when the value came from an environment variable.</summary>
    public bool IsEnvironment => Origin.StartsWith('$');

    /// <summary><c>file:line</c>, or <c>$VARIABLE</c> (<c>$VARIABLE:line</c> for a YAML document in a variable).</summary>
    public override string ToString() => Line > 0 ? $"{Origin}:{Line}" : Origin;
}

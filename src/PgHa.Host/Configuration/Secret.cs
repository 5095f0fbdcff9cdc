namespace PgHa.Host.Configuration;

/// <summary>
/// A password, token or key passphrase. <see cref="ToString"/> never shows it, so a secret cannot leak through a
/// record's generated <c>ToString</c>, a log line or an error message; read it with <see cref="Reveal"/> where it is used.
/// </summary>
public sealed class Secret : IEquatable<Secret>
{
    private readonly string _value;

    /// <summary>Wraps a secret value.</summary>
    public Secret(string value) => _value = value ?? throw new ArgumentNullException(nameof(value));

    /// <summary>The secret itself, for the one place that must send it.</summary>
    public string Reveal() => _value;

    /// <summary>Always <c>********</c>.</summary>
    public override string ToString() => "********";

    /// <inheritdoc />
    public bool Equals(Secret? other) => other is not null && string.Equals(_value, other._value, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Secret s && Equals(s);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_value);
}

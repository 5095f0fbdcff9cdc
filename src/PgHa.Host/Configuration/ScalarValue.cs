using System.Globalization;

namespace PgHa.Host.Configuration;

/// <summary>How a YAML scalar was typed (YAML 1.1, as Patroni's PyYAML reads it).</summary>
public enum ScalarValueKind
{
    /// <summary>A string.</summary>
    String,
    /// <summary>An integer.</summary>
    Integer,
    /// <summary>A floating-point number.</summary>
    Float,
    /// <summary><c>true</c>/<c>false</c> (also <c>on</c>/<c>off</c>, <c>yes</c>/<c>no</c>).</summary>
    Boolean,
    /// <summary>Nothing (<c>null</c>, <c>~</c>, empty).</summary>
    Null,
}

/// <summary>
/// A configuration value kept with its type, such as a PostgreSQL parameter: <c>fsync: off</c> is the boolean false,
/// <c>max_connections: 100</c> the integer 100, <c>shared_buffers: 128MB</c> a string.
/// </summary>
/// <param name="Kind">The YAML type.</param>
/// <param name="Text">Canonical text: the string itself, a decimal integer, Python's float text, <c>true</c>/<c>false</c>, or empty for null.</param>
/// <param name="Json">The value as Patroni's JSON (<c>"128MB"</c>, <c>100</c>, <c>false</c>, <c>null</c>).</param>
public sealed record ScalarValue(ScalarValueKind Kind, string Text, string Json)
{
    /// <summary>The value as written into <c>postgresql.conf</c>: booleans become <c>on</c>/<c>off</c>, everything else its text.</summary>
    public string ToPostgresValue() => Kind == ScalarValueKind.Boolean ? (Text == "true" ? "on" : "off") : Text;

    /// <summary>A string value.</summary>
    public static ScalarValue String(string s) => new(ScalarValueKind.String, s, Cluster.Serialization.PatroniJson.Serialize(System.Text.Json.Nodes.JsonValue.Create(s)));

    /// <summary>An integer value.</summary>
    public static ScalarValue Integer(long i) => new(ScalarValueKind.Integer, i.ToString(CultureInfo.InvariantCulture), i.ToString(CultureInfo.InvariantCulture));

    /// <summary>A boolean value.</summary>
    public static ScalarValue Boolean(bool b) => new(ScalarValueKind.Boolean, b ? "true" : "false", b ? "true" : "false");

    /// <inheritdoc />
    public override string ToString() => Text;
}

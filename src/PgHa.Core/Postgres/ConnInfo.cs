using System.Text;

namespace PgHa.Postgres;

/// <summary>libpq keyword/value connection strings (<c>host=… port=… user=…</c>).</summary>
internal static class ConnInfo
{
    /// <summary>Builds a connection string, skipping null values and quoting the rest as libpq requires.</summary>
    public static string Build(IEnumerable<KeyValuePair<string, string?>> pairs)
    {
        var sb = new StringBuilder();
        foreach (var (key, value) in pairs)
        {
            if (value is null) continue;
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(key).Append('=').Append(Quote(value));
        }
        return sb.ToString();
    }

    /// <summary>Quotes a value when it is empty or holds spaces, quotes or backslashes.</summary>
    public static string Quote(string value)
    {
        if (value.Length > 0 && !value.Any(c => char.IsWhiteSpace(c) || c is '\'' or '\\')) return value;
        return "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
    }

    /// <summary>The connection string with its <c>password</c> and <c>sslpassword</c> values hidden, for logs.</summary>
    public static string Redact(string conninfo)
    {
        if (!conninfo.Contains('=', StringComparison.Ordinal)) return conninfo;
        return Build(Parse(conninfo).Select(p => KeyValuePair.Create(p.Key, (string?)(p.Key is "password" or "sslpassword" ? "********" : p.Value))));
    }

    /// <summary>Parses a connection string back into its pairs (the inverse of <see cref="Build"/>).</summary>
    public static Dictionary<string, string> Parse(string conninfo)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var i = 0;
        while (i < conninfo.Length)
        {
            while (i < conninfo.Length && char.IsWhiteSpace(conninfo[i])) i++;
            var eq = conninfo.IndexOf('=', i);
            if (eq < 0) break;
            var key = conninfo[i..eq].Trim();
            i = eq + 1;
            while (i < conninfo.Length && char.IsWhiteSpace(conninfo[i])) i++;
            var value = new StringBuilder();
            if (i < conninfo.Length && conninfo[i] == '\'')
            {
                i++;
                while (i < conninfo.Length && conninfo[i] != '\'')
                {
                    if (conninfo[i] == '\\' && i + 1 < conninfo.Length) i++;
                    value.Append(conninfo[i++]);
                }
                i++;
            }
            else
            {
                while (i < conninfo.Length && !char.IsWhiteSpace(conninfo[i]))
                {
                    if (conninfo[i] == '\\' && i + 1 < conninfo.Length) i++;
                    value.Append(conninfo[i++]);
                }
            }
            result[key] = value.ToString();
        }
        return result;
    }
}

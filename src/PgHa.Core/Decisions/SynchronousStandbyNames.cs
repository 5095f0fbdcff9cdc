using System.Collections.Immutable;
using System.Text;
using System.Text.RegularExpressions;

namespace PgHa.Decisions;

/// <summary>
/// Builds and reads PostgreSQL's <c>synchronous_standby_names</c> the way Patroni writes it (patroni-compat.md §5.8):
/// one standby as <c>name</c>, several as <c>N (a,b)</c> (priority semantics, every listed standby must confirm), none
/// as the empty string; <c>*</c> is strict mode's "any standby, and block while there is none".
/// </summary>
public static partial class SynchronousStandbyNames
{
    /// <summary>Strict mode's value while no standby qualifies: commits wait until one connects.</summary>
    public const string AnyStandby = "*";

    /// <summary>The value naming exactly <paramref name="standbys"/>, all of which must confirm each commit.</summary>
    public static string Render(IReadOnlyCollection<string> standbys)
    {
        ArgumentNullException.ThrowIfNull(standbys);
        if (standbys.Count == 0) return "";
        var names = standbys.Order(StringComparer.Ordinal).Select(Quote).ToList();
        return names.Count == 1 ? names[0] : $"{names.Count} ({string.Join(',', names)})";
    }

    /// <summary>
    /// The standby names listed in <paramref name="value"/> (with <c>*</c> when present), or an empty list for an empty
    /// or unparseable value. The count is not returned: PgHa only needs to know who is named.
    /// </summary>
    public static ImmutableArray<string> Members(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return [];
        var text = value.Trim();
        // FIRST n (…), ANY n (…) or n (…): the list is what is inside the parentheses.
        var open = text.IndexOf('(', StringComparison.Ordinal);
        if (open >= 0)
        {
            if (!text.EndsWith(')') || !Prefix().IsMatch(text[..open])) return [];
            text = text[(open + 1)..^1];
        }
        var result = ImmutableArray.CreateBuilder<string>();
        var sb = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { sb.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else sb.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',')
            {
                if (!Add(result, sb)) return [];
            }
            else if (!char.IsWhiteSpace(c)) sb.Append(c);
        }
        if (quoted || !Add(result, sb)) return [];
        return result.ToImmutable();
    }

    private static bool Add(ImmutableArray<string>.Builder result, StringBuilder sb)
    {
        if (sb.Length == 0) return false;
        result.Add(sb.ToString());
        sb.Clear();
        return true;
    }

    private static string Quote(string name) =>
        Identifier().IsMatch(name) ? name : "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    [GeneratedRegex("^[A-Za-z_][A-Za-z_0-9$]*$")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"^\s*((FIRST|ANY)\s+)?\d+\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex Prefix();
}

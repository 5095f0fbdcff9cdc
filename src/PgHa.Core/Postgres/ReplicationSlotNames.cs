using System.Globalization;
using System.Text;

namespace PgHa.Postgres;

/// <summary>Patroni's rule for the physical slot a member streams through.</summary>
public static class ReplicationSlotNames
{
    /// <summary>
    /// Lowercase; <c>-</c> and <c>.</c> become <c>_</c>; any other character outside <c>[a-z0-9_]</c> becomes
    /// <c>u</c> + its code point as four hex digits; at most 63 characters (PostgreSQL's NAMEDATALEN - 1).
    /// </summary>
    public static string ForMember(string memberName)
    {
        var sb = new StringBuilder(memberName.Length);
        foreach (var c in memberName.ToLowerInvariant())
        {
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_') sb.Append(c);
            else if (c is '-' or '.') sb.Append('_');
            else sb.Append('u').Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
        }
        return sb.Length > 63 ? sb.ToString(0, 63) : sb.ToString();
    }
}

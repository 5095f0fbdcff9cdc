using System.Text;

namespace PgHa.Host.Ctl;

/// <summary>
/// The bordered table patronictl prints (prettytable 3.6 with patronictl's title in the top border): cells padded by one
/// space, left-aligned unless the column is right-aligned, multi-line cells top-aligned, and a rule after every row as
/// soon as one cell spans several lines.
/// </summary>
public static class PrettyTable
{
    /// <summary>Renders the table, each line ending with <c>\n</c>.</summary>
    /// <param name="title">Text laid into the top border (e.g. <c> Cluster: batman </c>), or null.</param>
    /// <param name="columns">Column headers.</param>
    /// <param name="rows">Cells as text; a cell may hold several lines.</param>
    /// <param name="rightAligned">Columns aligned to the right (numbers).</param>
    public static string Render(string? title, IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<string>> rows, IReadOnlySet<string> rightAligned)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(rightAligned);
        var split = rows.Select(r => r.Select(c => c.Split('\n')).ToArray()).ToList();
        var widths = new int[columns.Count];
        for (var i = 0; i < columns.Count; i++)
        {
            widths[i] = columns[i].Length;
            foreach (var row in split)
                foreach (var line in row[i])
                    widths[i] = Math.Max(widths[i], line.Length);
        }
        var right = columns.Select(rightAligned.Contains).ToArray();
        var rule = "+" + string.Join("+", widths.Select(w => new string('-', w + 2))) + "+";
        var everyRow = split.Any(r => r.Any(c => c.Length > 1));

        var sb = new StringBuilder();
        sb.Append(WithTitle(rule, title)).Append('\n');
        AppendLine(sb, columns.ToArray(), widths, right);
        sb.Append(rule).Append('\n');
        for (var r = 0; r < split.Count; r++)
        {
            var height = split[r].Max(c => c.Length);
            for (var l = 0; l < height; l++)
                AppendLine(sb, split[r].Select(c => l < c.Length ? c[l] : "").ToArray(), widths, right);
            if (everyRow && r < split.Count - 1) sb.Append(rule).Append('\n');
        }
        sb.Append(rule).Append('\n');
        return sb.ToString();
    }

    private static string WithTitle(string rule, string? title)
    {
        if (string.IsNullOrEmpty(title)) return rule;
        var header = title.Length > rule.Length - 2 ? title[..(rule.Length - 2)] : title;
        return rule[0] + header + rule[(1 + header.Length)..];
    }

    private static void AppendLine(StringBuilder sb, string[] cells, int[] widths, bool[] right)
    {
        sb.Append('|');
        for (var i = 0; i < cells.Length; i++)
            sb.Append(' ').Append(right[i] ? cells[i].PadLeft(widths[i]) : cells[i].PadRight(widths[i])).Append(" |");
        sb.Append('\n');
    }
}

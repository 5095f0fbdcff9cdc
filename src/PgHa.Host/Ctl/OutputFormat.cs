using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PgHa.Cluster.Serialization;

namespace PgHa.Host.Ctl;

/// <summary>patronictl's <c>-f/--format</c>.</summary>
public enum OutputFormat
{
    /// <summary>Bordered table (the default).</summary>
    Pretty,
    /// <summary>Tab-separated, header first.</summary>
    Tsv,
    /// <summary>A JSON array of objects.</summary>
    Json,
    /// <summary>A YAML list of mappings.</summary>
    Yaml,
    /// <summary>The bordered table sorted as a replication tree (<c>topology</c>).</summary>
    Topology,
}

/// <summary>patronictl's <c>print_output</c>: one set of rows in any <see cref="OutputFormat"/>.</summary>
public static class TableOutput
{
    /// <summary>Parses a <c>-f</c> value (<c>pretty</c>, <c>tsv</c>, <c>json</c>, <c>yaml</c>/<c>yml</c>).</summary>
    public static OutputFormat Parse(string text) => text switch
    {
        "pretty" => OutputFormat.Pretty,
        "tsv" => OutputFormat.Tsv,
        "json" => OutputFormat.Json,
        "yaml" or "yml" => OutputFormat.Yaml,
        "topology" => OutputFormat.Topology,
        _ => throw new CtlException($"unknown output format '{text}': use pretty, tsv, json or yaml"),
    };

    /// <summary>
    /// Formats <paramref name="rows"/> (cells as JSON values, <c>""</c> for empty). With a <paramref name="title"/>
    /// (the cluster table) JSON/YAML leave out empty cells, Tags are shown as YAML and the table hides the Cluster column.
    /// The text ends as patronictl's output does (click adds a line break after it).
    /// </summary>
    public static string Format(IReadOnlyList<string> columns, IReadOnlyList<JsonNode?[]> rows, IReadOnlySet<string> rightAligned, OutputFormat format, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(rows);
        if (format is OutputFormat.Json or OutputFormat.Yaml)
        {
            var elements = new JsonArray();
            foreach (var row in rows)
            {
                var element = new JsonObject();
                for (var i = 0; i < columns.Count; i++)
                    if (title is null || Str(row[i]).Length > 0) element[columns[i]] = row[i]?.DeepClone();
                elements.Add((JsonNode)element);
            }
            return (format == OutputFormat.Json ? PatroniJson.SerializeSpaced(elements) : PyYaml.Dump(elements)) + "\n";
        }

        var cols = columns.ToList();
        var cells = rows.Select(r => r.Select(Str).ToList()).ToList();
        var clusterTable = title is not null && cols.Count > 0 && cols[0] == "Cluster";
        if (clusterTable && cols.IndexOf("Tags") is var tags and >= 0)
        {
            for (var r = 0; r < rows.Count; r++)
                if (rows[r][tags] is JsonObject { Count: > 0 } t) cells[r][tags] = PyYaml.Dump(t, flow: format != OutputFormat.Pretty).Trim();
        }
        if (clusterTable && format != OutputFormat.Tsv)
        {
            cols.RemoveAt(0);
            foreach (var row in cells) row.RemoveAt(0);
        }
        if (format == OutputFormat.Tsv)
        {
            var sb = new StringBuilder();
            foreach (var line in (cols.Count > 0 ? new[] { cols } : []).Concat(cells)) sb.Append(string.Join('\t', line)).Append('\n');
            return sb.ToString();
        }
        return PrettyTable.Render(title, cols, cells, rightAligned);
    }

    /// <summary>Python's <c>str()</c> of a JSON value.</summary>
    public static string Str(JsonNode? value) => value switch
    {
        null => "None",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when v.GetValueKind() == JsonValueKind.True => "True",
        JsonValue v when v.GetValueKind() == JsonValueKind.False => "False",
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => PatroniJson.Serialize(v),
        _ => PythonRepr(value),
    };

    // str() of a dict or list: Python's repr, close enough for the rare nested value in a table.
    private static string PythonRepr(JsonNode? node) => node switch
    {
        null => "None",
        JsonObject o => "{" + string.Join(", ", o.Select(p => $"'{p.Key}': {PythonRepr(p.Value)}")) + "}",
        JsonArray a => "[" + string.Join(", ", a.Select(PythonRepr)) + "]",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => "'" + v.GetValue<string>() + "'",
        _ => Str(node),
    };

    /// <summary>A JSON integer cell.</summary>
    public static JsonNode Int(long value) => JsonValue.Create(value);

    /// <summary>A JSON string cell.</summary>
    public static JsonNode Text(string? value) => JsonValue.Create(value ?? "");

    /// <summary>Invariant text of an integer.</summary>
    public static string Inv(long value) => value.ToString(CultureInfo.InvariantCulture);
}

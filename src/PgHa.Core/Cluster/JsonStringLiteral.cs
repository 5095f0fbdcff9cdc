using System.Text.Json;

namespace PgHa.Cluster;

/// <summary>Decodes one JSON string literal (a tag value kept as raw JSON) without reflection-based serialization.</summary>
public static class JsonStringLiteral
{
    /// <summary>The text of <paramref name="json"/> when it is a JSON string, else null (also for malformed JSON).</summary>
    public static string? Decode(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.String ? document.RootElement.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

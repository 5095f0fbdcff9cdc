using Microsoft.AspNetCore.Http;
using PgHa.Loop;

namespace PgHa.AspNetCore;

public sealed partial class RestApiServer
{
    // ---- POST /failsafe ---------------------------------------------------------------------------------------

    /// <summary>
    /// A leader running without the DCS asks this node to confirm it (patroni-compat.md §3.3, §5.7): 200 <c>Accepted</c>
    /// (this node then neither races nor promotes for ttl), 500 when it runs as a primary, holds the lock or is
    /// promoting, 502 when failsafe mode is off. The body is Patroni's <c>{name, conn_url, api_url, slots}</c>.
    /// </summary>
    private async Task PostFailsafeAsync(HttpContext context)
    {
        if (!_options.Snapshot().Settings.FailsafeMode)
        {
            await WriteTextAsync(context, 502, FailsafeAnswer.Disabled.Message).ConfigureAwait(false);
            return;
        }
        if (_options.Operations is not IFailsafeReceiver receiver)
        {
            await WriteTextAsync(context, 503, NoOperations).ConfigureAwait(false);
            return;
        }
        if (await ReadBodyAsync(context, optional: false).ConfigureAwait(false) is not { } body) return;
        string? Field(string name) => body.TryGetPropertyValue(name, out var v) ? Text(v) : null;
        var name = Field("name");
        var connUrl = Field("conn_url");
        var apiUrl = Field("api_url");
        string? problem = string.IsNullOrEmpty(name) ? "name"
            : connUrl is null ? "conn_url"
            : apiUrl is null ? "api_url"
            : null;
        if (problem is not null)
        {
            var found = body.TryGetPropertyValue(problem, out var value) ? Describe(value) : "nothing";
            await WriteTextAsync(context, 400, $"Bad request: \"{problem}\" must be a non-empty string, found {found}").ConfigureAwait(false);
            return;
        }
        var answer = receiver.AcceptFailsafe(new FailsafePing(name!, connUrl!, apiUrl!));
        await WriteTextAsync(context, answer.Status, answer.Message).ConfigureAwait(false);
    }
}

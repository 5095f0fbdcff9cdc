using Microsoft.Extensions.Options;
using PgHa.Decisions;

namespace PgHa.Hosting;

/// <summary>
/// Validates <see cref="PgHaOptions"/> when the host starts: required names, the API URL, and Patroni's timing rule
/// <c>loop_wait + 2*retry_timeout &lt;= ttl</c> (<see cref="HaTiming"/>). Each failure names the setting.
/// </summary>
public sealed class PgHaOptionsValidator : IValidateOptions<PgHaOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, PgHaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Scope)) failures.Add("PgHa:Scope is required: the cluster name (Patroni's scope)");
        else if (options.Scope.Contains('/', StringComparison.Ordinal)) failures.Add($"PgHa:Scope may not contain '/' (got '{options.Scope}')");
        if (string.IsNullOrWhiteSpace(options.Name)) failures.Add("PgHa:Name is required: this member's name, unique in the cluster");
        else if (options.Name.Contains('/', StringComparison.Ordinal)) failures.Add($"PgHa:Name may not contain '/' (got '{options.Name}')");
        if (!Uri.TryCreate(options.ApiUrl, UriKind.Absolute, out var api) || (api.Scheme != Uri.UriSchemeHttp && api.Scheme != Uri.UriSchemeHttps))
            failures.Add($"PgHa:ApiUrl must be an absolute http(s) URL of this node's /patroni endpoint, as peers reach it (got '{options.ApiUrl}')");
        if (options.MaximumLagOnFailover < 0) failures.Add($"PgHa:MaximumLagOnFailover must not be negative (got {options.MaximumLagOnFailover})");
        if (options.ShutdownTimeout <= TimeSpan.Zero) failures.Add($"PgHa:ShutdownTimeout must be positive (got {options.ShutdownTimeout})");
        foreach (var timing in HaTiming.Validate(TimeSpan.FromSeconds(options.Ttl), TimeSpan.FromSeconds(options.LoopWait),
                     TimeSpan.FromSeconds(options.RetryTimeout), options.FenceSafetyMargin))
            failures.Add("PgHa: " + timing);
        foreach (var problem in (options.Callbacks ?? new PgHaCallbackOptions()).ToCallbackOptions(options.Scope).Validate())
            failures.Add("PgHa:Callbacks: " + problem);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

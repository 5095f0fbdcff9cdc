namespace PgHa.Loop;

/// <summary>
/// Sends failsafe mode's <c>POST /failsafe</c> to a member. Optional capability of the <see cref="IPeerStatusClient"/>
/// given to <see cref="HaLoop"/>: without it a leader cannot run a confirmation round, so it never stays on failsafe.
/// </summary>
public interface IFailsafePeerClient
{
    /// <summary>
    /// True only when the member answered 200 <c>Accepted</c> within <paramref name="timeout"/>; anything else (refusal,
    /// error, timeout, no api_url) is false, never an exception.
    /// </summary>
    Task<bool> ConfirmFailsafeAsync(string member, string apiUrl, FailsafePing ping, TimeSpan timeout, CancellationToken cancellationToken);
}

namespace PgHa.Decisions;

/// <summary>
/// Patroni's timing rule, <c>loop_wait + 2 × retry_timeout ≤ ttl</c>: a primary that loses the DCS gives up within one
/// loop and two failed DCS attempts, before its lock can expire and another node can be promoted.
/// </summary>
public static class HaTiming
{
    /// <summary>Returns the violated rules as messages naming the settings (empty when valid).</summary>
    public static IReadOnlyList<string> Validate(TimeSpan ttl, TimeSpan loopWait, TimeSpan retryTimeout, TimeSpan fenceSafetyMargin)
    {
        var errors = new List<string>();
        if (ttl <= TimeSpan.Zero) errors.Add($"ttl must be positive (got {ttl.TotalSeconds:0.###} s)");
        if (loopWait <= TimeSpan.Zero) errors.Add($"loop_wait must be positive (got {loopWait.TotalSeconds:0.###} s)");
        if (retryTimeout <= TimeSpan.Zero) errors.Add($"retry_timeout must be positive (got {retryTimeout.TotalSeconds:0.###} s)");
        if (errors.Count > 0) return errors;
        if (loopWait + 2 * retryTimeout > ttl)
            errors.Add($"loop_wait + 2*retry_timeout must not exceed ttl: {loopWait.TotalSeconds:0.###} + 2*{retryTimeout.TotalSeconds:0.###} > {ttl.TotalSeconds:0.###}; " +
                       "a primary cut off from the DCS would keep accepting writes after its lock could expire");
        if (fenceSafetyMargin < TimeSpan.Zero || fenceSafetyMargin >= ttl - loopWait)
            errors.Add($"the fence safety margin ({fenceSafetyMargin.TotalSeconds:0.###} s) must be at least 0 and less than ttl - loop_wait ({(ttl - loopWait).TotalSeconds:0.###} s), or a healthy leader would fence itself between renewals");
        return errors;
    }
}

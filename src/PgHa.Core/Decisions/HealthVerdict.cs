namespace PgHa.Decisions;

/// <summary>Outcome of the healthiest-node check.</summary>
/// <param name="Healthiest">True: this node should race for the lock.</param>
/// <param name="Why">The deciding rule, for the log line.</param>
/// <param name="NeedsPeers">The answer depends on peers' status, which was not gathered.</param>
public readonly record struct HealthVerdict(bool Healthiest, string Why, bool NeedsPeers = false)
{
    internal static HealthVerdict Yes(string why) => new(true, why);
    internal static HealthVerdict No(string why) => new(false, why);
    internal static HealthVerdict AskPeers => new(false, "peer status needed", true);
}

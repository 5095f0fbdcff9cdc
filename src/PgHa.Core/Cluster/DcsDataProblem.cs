namespace PgHa.Cluster;

/// <summary>
/// A value in the DCS that could not be understood. The cluster view keeps everything else; the bad field or key is
/// ignored, and the problem is logged and shown, never thrown.
/// </summary>
/// <param name="Key">Key relative to the cluster prefix, for example <c>members/node1</c>.</param>
/// <param name="Problem">What was wrong, naming the field.</param>
public sealed record DcsDataProblem(string Key, string Problem)
{
    /// <inheritdoc />
    public override string ToString() => $"{Key}: {Problem}";
}

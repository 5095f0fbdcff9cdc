namespace PgHa.Host.Ctl;

public static partial class CtlCommands
{
    /// <summary>
    /// <c>remove</c>: after showing the cluster, asks for its name, then for "Yes I am aware", then — while a leader holds
    /// the lock — for the leader's name, and deletes every key of the cluster from the DCS.
    /// </summary>
    public static async Task<int> RemoveAsync(CtlSession session, string clusterName, OutputFormat format, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var console = session.Console;
        await session.UseClusterAsync(clusterName).ConfigureAwait(false);
        var cluster = await session.LoadClusterAsync(cancellationToken).ConfigureAwait(false);
        console.Out.Write(ClusterTable.Format(session.Scope, cluster, extended: false, format));

        if (CtlPrompts.Prompt(console, "Please confirm the cluster name to remove") != clusterName)
            throw new CtlException("Cluster names specified do not match");
        const string Aware = "Yes I am aware";
        if (CtlPrompts.Prompt(console, $"You are about to remove all information in DCS for {clusterName}, please type: \"{Aware}\"") != Aware)
            throw new CtlException($"You did not exactly type \"{Aware}\"");
        if (cluster.LeaderName is { Length: > 0 } leader
            && CtlPrompts.Prompt(console, "This cluster currently is healthy. Please specify the leader name to continue") != leader)
            throw new CtlException("You did not specify the current leader of the cluster");

        await session.WriteAsync(async d => { await d.DeleteClusterAsync(cancellationToken).ConfigureAwait(false); return true; }, $"remove cluster {clusterName}").ConfigureAwait(false);
        return 0;
    }
}

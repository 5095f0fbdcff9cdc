namespace PgHa.AspNetCore.Dashboard;

/// <summary>
/// The web dashboard at <c>/ui</c>: one static page that renders <c>/cluster</c> (members, roles, lag, timelines,
/// pending restarts, pause, a scheduled switchover) and <c>/history</c>, refreshing every 2 s in the browser, and offers
/// switchover, restart and reinitialize through the same REST endpoints, after a confirmation. Those are unsafe
/// endpoints: when the API answers 401 the page asks for credentials and keeps them in page memory only.
/// </summary>
public static class Dashboard
{
    /// <summary>The page (embedded in the assembly, read once).</summary>
    public static string Html { get; } = Load();

    private static string Load()
    {
        using var stream = typeof(Dashboard).Assembly.GetManifestResourceStream("PgHa.AspNetCore.Dashboard.dashboard.html")
                           ?? throw new InvalidOperationException("the dashboard page is missing from the assembly");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

namespace PgHa.Embedding.Tests;

/// <summary>Finds files of the repository the tests run from.</summary>
internal static class Repository
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PgHa.sln"))) return dir.FullName;
        throw new InvalidOperationException("PgHa.sln not found above " + AppContext.BaseDirectory);
    }
}

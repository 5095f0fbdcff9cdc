namespace PgHa.Postgres.Tests;

/// <summary>Base of the tests that run real PostgreSQL 15 servers in a temporary directory.</summary>
[NonParallelizable]
public abstract class PgTestBase
{
    private readonly List<PgNode> _nodes = [];
    private string _root = "";

    [SetUp]
    public void CreateRoot()
    {
        PgTestEnvironment.RequireServer();
        _root = Directory.CreateTempSubdirectory("pgha-pg-").FullName;
    }

    [TearDown]
    public void RemoveNodes()
    {
        foreach (var node in _nodes) node.Dispose();
        _nodes.Clear();
        if (_root.Length > 0 && TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
        {
            foreach (var log in Directory.EnumerateFiles(_root, "*.log", SearchOption.AllDirectories))
                TestContext.Out.WriteLine($"---- {log}\n{string.Join('\n', File.ReadLines(log).TakeLast(40))}");
        }
        if (_root.Length > 0)
        {
            try { Directory.Delete(_root, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    internal PgNode Node(string name, Action<PostgresControllerOptions>? configure = null)
    {
        var node = new PgNode(_root, name, configure);
        _nodes.Add(node);
        return node;
    }
}

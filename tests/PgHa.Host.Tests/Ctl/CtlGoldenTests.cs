namespace PgHa.Host.Tests.Ctl;

/// <summary>
/// Every read-only command prints byte for byte what Debian's patronictl 3.0.2 printed for the same DCS content
/// (Golden/&lt;state&gt;/&lt;command&gt;.txt, recorded with patronictl against etcd holding these keys).
/// </summary>
[TestFixture]
public sealed class CtlGoldenTests
{
    private static readonly string[] States = ["tags", "sync-mode", "paused", "scheduled-switchover", "bootstrapped", "cascade"];

    private static readonly (string File, string[] Args)[] Commands =
    [
        ("list.txt", ["list"]),
        ("list-e.txt", ["list", "-e"]),
        ("list-tsv.txt", ["list", "-f", "tsv"]),
        ("list-e-tsv.txt", ["list", "-e", "-f", "tsv"]),
        ("list-json.txt", ["list", "-f", "json"]),
        ("list-e-yaml.txt", ["list", "-e", "-f", "yaml"]),
        ("topology.txt", ["topology"]),
        ("history.txt", ["history"]),
        ("history-tsv.txt", ["history", "-f", "tsv"]),
        ("history-json.txt", ["history", "-f", "json"]),
        ("history-yaml.txt", ["history", "-f", "yaml"]),
        ("show-config.txt", ["show-config"]),
        ("dsn.txt", ["dsn"]),
        ("dsn-replica.txt", ["dsn", "-r", "replica"]),
    ];

    private static IEnumerable<TestCaseData> Cases() =>
        from state in States
        from command in Commands
        select new TestCaseData(state, command.File, command.Args).SetName($"{state}: patronictl {string.Join(' ', command.Args)}");

    [TestCaseSource(nameof(Cases))]
    public void PrintsWhatPatronictlPrinted(string state, string file, string[] args)
    {
        using var harness = new CtlHarness();
        harness.LoadState(state);
        var expected = File.ReadAllText(Path.Combine(CtlHarness.GoldenDir, state, file));
        var (exit, output, error, _) = harness.Run(args);
        Assert.Multiple(() =>
        {
            Assert.That(output, Is.EqualTo(expected), $"pgha ctl {string.Join(' ', args)} on '{state}'; stderr: {error}");
            Assert.That(exit, Is.Zero);
        });
    }
}

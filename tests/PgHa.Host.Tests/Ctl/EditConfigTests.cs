using PgHa.Dcs;
using PgHa.Host.Ctl;

namespace PgHa.Host.Tests.Ctl;

/// <summary><c>edit-config</c> and <c>show-config</c>: the same diff and the same written value as patronictl, CAS on the config version.</summary>
[TestFixture]
public sealed class EditConfigTests
{
    private static string Golden(string file) => Path.Combine(CtlHarness.GoldenDir, "edit-config", file);

    [TestCase("set.txt", "set.config", new[] { "-s", "loop_wait=5", "-s", "postgresql.parameters.pg_stat_statements.max=1000", "-p", "max_connections=200", "-p", "fsync=", "-s", "check_timeline=true", "-s", "name=it's" })]
    [TestCase("apply.txt", "apply.config", new[] { "--apply", "{golden}/apply.yaml" })]
    [TestCase("replace.txt", "replace.config", new[] { "--replace", "{golden}/replace.yaml" })]
    public void ShowsPatronictlsDiffAndWritesWhatItWrote(string expectedOutput, string expectedConfig, string[] args)
    {
        using var harness = new CtlHarness();
        harness.LoadState("tags");
        var (exit, output, error, _) = harness.Run(["edit-config", .. args.Select(a => a.Replace("{golden}", Path.GetDirectoryName(Golden("x")), StringComparison.Ordinal)), "--force"]);
        Assert.Multiple(() =>
        {
            Assert.That(output, Is.EqualTo(File.ReadAllText(Golden(expectedOutput))), error);
            Assert.That(harness.Key("config"), Is.EqualTo(File.ReadAllText(Golden(expectedConfig)).TrimEnd('\n')));
            Assert.That(exit, Is.Zero);
        });
    }

    [Test]
    public void NoChangeSaysSoAndWritesNothing()
    {
        using var harness = new CtlHarness();
        harness.LoadState("tags");
        var before = harness.Key("config");
        var (exit, output, _, _) = harness.Run(["edit-config", "-s", "loop_wait=10", "--force"]);
        Assert.That((exit, output, harness.Key("config")), Is.EqualTo((0, File.ReadAllText(Golden("unchanged.txt")), before)));
    }

    [Test]
    public void AsksBeforeApplyingAndKeepsTheConfigWhenTheAnswerIsNo()
    {
        using var harness = new CtlHarness();
        harness.LoadState("tags");
        var before = harness.Key("config");
        var (exit, output, _, _) = harness.Run(["edit-config", "-s", "loop_wait=5"], "n");
        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("+loop_wait: 5").And.EndWith("Apply these changes? [y/N]: "));
            Assert.That(harness.Key("config"), Is.EqualTo(before));
            Assert.That(exit, Is.Zero);
        });
        var (exit2, output2, _, _) = harness.Run(["edit-config", "-s", "loop_wait=5"], "y");
        Assert.That((exit2, output2.EndsWith("Apply these changes? [y/N]: Configuration changed\n", StringComparison.Ordinal)), Is.EqualTo((0, true)), output2);
        Assert.That(harness.Key("config"), Does.Contain("\"loop_wait\": 5"));
    }

    [Test]
    public void AConcurrentChangeBetweenReadAndWriteAbortsTheEdit()
    {
        using var harness = new CtlHarness();
        harness.LoadState("tags");
        // The operator is asked; meanwhile someone else changes the config key: the CAS on the version read must fail.
        harness.Editor = _ => 0;
        var console = new ScriptedConsole();
        var concurrent = """{"ttl":30,"loop_wait":7}""";
        var answered = false;
        var script = new InterceptingConsole(console, () =>
        {
            harness.Store.TryWrite(CtlHarness.Prefix, "config", concurrent, WriteCondition.Always);
            answered = true;
            return "y";
        });
        var (exit, _, error) = harness.RunWith(script, ["edit-config", "-s", "loop_wait=5"]);
        Assert.Multiple(() =>
        {
            Assert.That(answered, Is.True);
            Assert.That(exit, Is.EqualTo(1));
            Assert.That(error, Does.Contain("Error: Config modification aborted due to concurrent changes"));
            Assert.That(harness.Key("config"), Is.EqualTo(concurrent));
        });
    }

    [Test]
    public void WithoutAChangeOptionTheEditorEditsTheYaml()
    {
        using var harness = new CtlHarness();
        harness.LoadState("tags");
        string? seen = null;
        harness.Editor = path =>
        {
            seen = File.ReadAllText(path);
            File.WriteAllText(path, seen.Replace("ttl: 30", "ttl: 40", StringComparison.Ordinal));
            return 0;
        };
        var (exit, output, _, _) = harness.Run(["edit-config", "--force"]);
        Assert.Multiple(() =>
        {
            Assert.That(seen, Is.EqualTo(File.ReadAllText(Path.Combine(CtlHarness.GoldenDir, "tags", "show-config.txt"))[..^1]));
            Assert.That(output, Does.Contain("-ttl: 30\n+ttl: 40\n").And.EndWith("Configuration changed\n"));
            Assert.That(harness.Key("config"), Does.Contain("\"ttl\": 40"));
            Assert.That(exit, Is.Zero);
        });
    }

    [Test]
    public void AFailingEditorChangesNothing()
    {
        using var harness = new CtlHarness();
        harness.LoadState("tags");
        var before = harness.Key("config");
        harness.Editor = _ => 3;
        var (exit, _, error, _) = harness.Run(["edit-config"]);
        Assert.That((exit, error.Trim(), harness.Key("config")), Is.EqualTo((1, "Error: Editor exited with return code 3", before)));
    }

    [Test]
    public void ApplyFromStdinNeedsForce()
    {
        using var harness = new CtlHarness();
        harness.LoadState("tags");
        var before = harness.Key("config");
        var (exit, output, _, _) = harness.Run(["edit-config", "--apply", "-"], "loop_wait: 4");
        Assert.That((exit, output.EndsWith("Use --force option to apply changes\n", StringComparison.Ordinal), harness.Key("config")), Is.EqualTo((1, true, before)));
        var (exit2, _, _, _) = harness.Run(["edit-config", "--apply", "-", "--force", "-q"], "loop_wait: 4");
        Assert.That((exit2, harness.Key("config")), Is.EqualTo((0, """{"ttl": 30, "loop_wait": 4, "retry_timeout": 10, "maximum_lag_on_failover": 1048576, "postgresql": {"use_pg_rewind": true, "use_slots": true, "parameters": {"fsync": false, "max_connections": 100}}, "synchronous_mode": true, "failsafe_mode": true}""")));
    }

    [TestCase("loop_wait")]
    [TestCase("")]
    public void ABadSettingIsRefusedWithAnExample(string pair)
    {
        using var harness = new CtlHarness();
        harness.LoadState("tags");
        var (exit, _, error, _) = harness.Run(["edit-config", "-s", pair, "--force"]);
        Assert.That((exit, error), Is.EqualTo((1, $"Error: Invalid parameter setting {pair}; use KEY=VALUE, e.g. -s loop_wait=5 or -p max_connections=200\n")));
    }

    [Test]
    public void PairsFollowPatronictlsPathRules()
    {
        var data = (System.Text.Json.Nodes.JsonObject)System.Text.Json.Nodes.JsonNode.Parse("""{"a":{"b":1},"postgresql":{"parameters":{"x.y":1}}}""")!;
        var changed = ConfigEditing.ApplyPairs(data, ["a.b=", "postgresql.parameters.x.y=2", "c.d.e=off", "f='010'", "g=010"]);
        Assert.That(changed.ToJsonString(), Is.EqualTo("""{"postgresql":{"parameters":{"x.y":2}},"c":{"d":{"e":false}},"f":"010","g":8}"""));
    }
}

/// <summary>A console whose answers come from a callback (to act at the moment the question is asked).</summary>
internal sealed class InterceptingConsole(ScriptedConsole inner, Func<string> answer) : ICtlConsole
{
    public TextWriter Out => inner.Out;
    public TextWriter Error => inner.Error;
    public bool IsTerminal => false;
    public string? ReadLine() => answer();
}

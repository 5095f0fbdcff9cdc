using System.Collections;
using PgHa.Host.Ctl;

namespace PgHa.Host.Tests.Ctl;

/// <summary>The <c>pgha</c> command line on System.CommandLine: every command keeps its behaviour; usage errors exit 2.</summary>
[TestFixture]
public sealed class CliTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var console = new ScriptedConsole();
        var exit = PgHaCli.Run(args, new CtlRuntime { Console = console, Environment = new Hashtable { ["HOME"] = "/nonexistent" } });
        return (exit, console.OutWriter.ToString(), console.ErrorWriter.ToString());
    }

    [Test]
    public void VersionPrintsThePgHaVersion() =>
        Assert.That(Run("version"), Is.EqualTo((0, $"pgha {CtlVersion.Text}\n", "")));

    [Test]
    public void TimingExplainsValidValues()
    {
        var (exit, output, _) = Run("timing", "--ttl", "30", "--loop-wait", "10", "--retry-timeout", "10");
        Assert.That((exit, output.Split('\n')[0]), Is.EqualTo((0, "ttl=30s loop_wait=10s retry_timeout=10s fence margin=1s: valid")));
    }

    [TestCase(new[] { "timing", "--ttl", "30" }, 2, "pgha timing: --loop-wait is required.\n")]
    [TestCase(new[] { "timing", "--ttl", "x", "--loop-wait", "1", "--retry-timeout", "1" }, 2, "pgha timing: --ttl needs a number of seconds.\n")]
    [TestCase(new[] { "timing", "--ttl", "10", "--loop-wait", "10", "--retry-timeout", "10" }, 1, null)]
    public void TimingRejectsMissingOrBadValues(string[] args, int code, string? error)
    {
        var (exit, _, err) = Run(args);
        Assert.That(exit, Is.EqualTo(code));
        if (error is not null) Assert.That(err, Is.EqualTo(error));
        else Assert.That(err, Does.StartWith("pgha timing: "));
    }

    [Test]
    public void ValidateNamesEveryProblem()
    {
        var file = Path.Combine(Path.GetTempPath(), $"pgha-cli-{Guid.NewGuid():N}.yml");
        File.WriteAllText(file, "scope: batman\n");
        try
        {
            var (exit, _, err) = Run("validate", file);
            Assert.That((exit, err), Is.EqualTo((1, err)));
            Assert.That(err, Does.Contain("name: required setting is missing").And.Contain("no DCS section"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [TestCase("bogus")]
    [TestCase("ctl lsit")]
    [TestCase("ctl list -f xml")]
    [TestCase("ctl restart")]
    public void UsageErrorsExitWithTwoAndPointToHelp(string commandLine)
    {
        var (exit, _, err) = Run(commandLine.Split(' '));
        Assert.That((exit, err.Split('\n')[^2].StartsWith("Run 'pgha", StringComparison.Ordinal)), Is.EqualTo((2, true)), err);
    }

    [Test]
    public void NoArgumentsShowsTheCommandsAndExitsTwo()
    {
        var (exit, output, _) = Run();
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(output, Does.Contain("run").And.Contain("ctl").And.Contain("validate").And.Contain("timing").And.Contain("version"));
    }

    [TestCase("list")]
    [TestCase("topology")]
    [TestCase("switchover")]
    [TestCase("failover")]
    [TestCase("restart")]
    [TestCase("reload")]
    [TestCase("reinit")]
    [TestCase("pause")]
    [TestCase("resume")]
    [TestCase("edit-config")]
    [TestCase("show-config")]
    [TestCase("history")]
    [TestCase("remove")]
    [TestCase("dsn")]
    [TestCase("flush")]
    [TestCase("version")]
    public void EveryCtlCommandHasHelp(string command)
    {
        var (exit, output, _) = Run("ctl", command, "--help");
        Assert.That((exit, output), Is.EqualTo((0, output)));
        Assert.That(output, Does.Contain($"pgha ctl {command}").And.Contain("--config-file"));
    }

    [Test]
    public void AMissingConfigFileIsNamed()
    {
        var (exit, _, err) = Run("ctl", "-c", "/nonexistent/ctl.yml", "list");
        Assert.That((exit, err), Is.EqualTo((1, "Error: Provided config file /nonexistent/ctl.yml not existing or no read rights. Check the -c/--config-file parameter\n")));
    }

    [Test]
    public void AMinimalPatronictlConfigurationLoads()
    {
        var file = Path.Combine(Path.GetTempPath(), $"pgha-cli-{Guid.NewGuid():N}.yml");
        File.WriteAllText(file, "scope: batman\netcd3:\n  hosts: 127.0.0.1:2379\nctl:\n  insecure: true\n");
        try
        {
            var config = CtlConfigLoader.Load(file, new Hashtable());
            Assert.That((config.Scope, config.ClusterPrefix, config.Dcs.Kind, config.Ctl.Insecure), Is.EqualTo(("batman", "/service/batman/", "etcd3", true)));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [TestCase("etcd3://10.0.0.1:2390", "PATRONI_ETCD3_HOSTS", "10.0.0.1:2390")]
    [TestCase("consul://10.0.0.1", "PATRONI_CONSUL_HOST", "10.0.0.1:8500")]
    [TestCase("10.0.0.1:2181", "PATRONI_ZOOKEEPER_HOSTS", "10.0.0.1:2181")]
    [TestCase("10.0.0.1", "PATRONI_ETCD_HOSTS", "10.0.0.1:2379")]
    public void DcsUrlsSelectTheDcsAsPatronictlDoes(string url, string variable, string value) =>
        Assert.That(CtlConfigLoader.DcsUrlOverride(url), Is.EqualTo((variable, value)));

    [Test]
    public void ADcsUrlReplacesTheDcsSectionOfTheFile()
    {
        var file = Path.Combine(Path.GetTempPath(), $"pgha-cli-{Guid.NewGuid():N}.yml");
        File.WriteAllText(file, "scope: batman\netcd3:\n  hosts: 127.0.0.1:2379\n");
        try
        {
            var config = CtlConfigLoader.Load(file, new Hashtable(), "consul://10.0.0.1:8500");
            Assert.That(config.Dcs.Kind, Is.EqualTo("consul"));
            Assert.That(() => CtlConfigLoader.Load(file, new Hashtable(), "redis://x:1"), Throws.InstanceOf<CtlException>().With.Message.StartsWith("Unknown dcs scheme: redis"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public void WatchRefreshesUntilCancelled()
    {
        using var harness = new CtlHarness();
        harness.LoadState("tags");
        var console = new ScriptedConsole();
        var runtime = new CtlRuntime { Console = console, CreateDcs = c => new PgHa.Testing.InMemoryDcs(harness.Store, "service", c.Scope, "ctl"), Environment = new Hashtable() };
        using var cts = new CancellationTokenSource();
        var session = new CtlSession(runtime, CtlConfigLoader.Load(harness.ConfigPath, new Hashtable()), insecure: false);
        var refreshes = 0;
        var task = Task.Run(async () =>
        {
            while (console.OutWriter.ToString().Split("+ Cluster: batman").Length - 1 < 3) await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System);
            refreshes = console.OutWriter.ToString().Split("+ Cluster: batman").Length - 1;
            await cts.CancelAsync();
        });
        Assert.That(async () => await CtlCommands.ListAsync(session, [], false, true, OutputFormat.Pretty, TimeSpan.FromMilliseconds(20), cts.Token), Throws.InstanceOf<OperationCanceledException>());
        task.Wait();
        Assert.That(refreshes, Is.GreaterThanOrEqualTo(3));
        Assert.That(console.OutWriter.ToString(), Does.Match(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n\+ Cluster: batman"), "-t prints the time before each table");
    }
}

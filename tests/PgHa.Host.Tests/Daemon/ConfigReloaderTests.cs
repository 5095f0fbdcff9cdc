using System.Collections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using PgHa.Dcs;
using PgHa.Host.Configuration;
using PgHa.Host.Daemon;
using PgHa.Host.Tests.Configuration;
using PgHa.Loop;
using PgHa.Peers;
using PgHa.Postgres;

namespace PgHa.Host.Tests.Daemon;

/// <summary>SIGHUP applies the log level, tags and local parameters at once, names everything else as waiting for a restart, and refuses a broken file whole.</summary>
[TestFixture]
public sealed class ConfigReloaderTests
{
    private string _dir = "";
    private string _path = "";
    private HaLoop _loop = null!;
    private ConsoleLog _log = null!;
    private ConfigReloader _reloader = null!;
    private readonly IDictionary _env = new Hashtable();

    [SetUp]
    public void SetUp()
    {
        _dir = Directory.CreateTempSubdirectory("pgha-reload-").FullName;
        _path = Path.Combine(_dir, "node.yml");
        File.WriteAllText(_path, ConfigTestBase.BaseYaml);
        var loaded = PgHaConfigLoader.Load(_path, _env);
        Assert.That(loaded.Succeeded, loaded.FormatErrors());
        var config = loaded.Config!;
        _loop = new HaLoop(Mock.Of<IDcs>(), Mock.Of<IPostgresControl>(), Mock.Of<IPeerStatusClient>(),
            config.ToHaNodeOptions() with { LocalPostgresParameters = ComponentOptions.LocalParameters(config) }, TimeProvider.System);
        _log = new ConsoleLog(LogLevel.Information, TimeProvider.System);
        _reloader = new ConfigReloader(_path, _env, loaded, _loop, _log, NullLogger.Instance);
    }

    [TearDown]
    public void TearDown()
    {
        _log.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private void Edit(string from, string to)
    {
        var text = File.ReadAllText(_path);
        Assert.That(text, Does.Contain(from));
        File.WriteAllText(_path, text.Replace(from, to, StringComparison.Ordinal));
    }

    [Test]
    public void An_unchanged_file_changes_nothing()
    {
        var before = _loop.Options;
        Assert.That(_reloader.Reload(), Is.EqualTo("reloaded configuration: nothing changed"));
        Assert.That(_loop.Options, Is.SameAs(before));
    }

    [Test]
    public void Tags_apply_at_once()
    {
        File.AppendAllText(_path, "\ntags:\n  nofailover: true\n  clonefrom: true\n");
        Assert.That(_reloader.Reload(), Is.EqualTo("reloaded configuration: applied tags"));
        Assert.That(_loop.Options.Tags.NoFailover, Is.True);
        Assert.That(_loop.Settings.Tags.NoFailover, Is.True, "the next cycle decides with the new tags");
    }

    [Test]
    public void Local_parameters_apply_at_once()
    {
        Edit("max_wal_size: 1GB", "max_wal_size: 2GB\n    work_mem: 8MB");
        Assert.That(_reloader.Reload(), Is.EqualTo("reloaded configuration: applied postgresql.parameters"));
        Assert.That(_loop.Options.LocalPostgresParameters, Does.ContainKey("work_mem").WithValue("8MB"));
        Assert.That(_loop.Options.LocalPostgresParameters!["max_wal_size"], Is.EqualTo("2GB"));
    }

    [Test]
    public void Other_postgresql_settings_wait_for_a_restart_and_are_not_half_applied()
    {
        Edit("max_wal_size: 1GB", "max_wal_size: 2GB");
        Edit("listen: 0.0.0.0:5432", "listen: 0.0.0.0:5433");
        var outcome = _reloader.Reload();
        Assert.That(outcome, Is.EqualTo("reloaded configuration: nothing applied; changes to postgresql take effect when pgha restarts"));
        Assert.That(_loop.Options.LocalPostgresParameters!["max_wal_size"], Is.EqualTo("1GB"));
    }

    [Test]
    public void A_pending_change_stays_pending_until_it_is_reverted()
    {
        Edit("listen: 0.0.0.0:8008", "listen: 0.0.0.0:8009");
        Assert.That(_reloader.Reload(), Does.EndWith("changes to restapi take effect when pgha restarts"));
        Assert.That(_reloader.Reload(), Does.EndWith("changes to restapi take effect when pgha restarts"), "still not running with it");
        Edit("listen: 0.0.0.0:8009", "listen: 0.0.0.0:8008");
        Assert.That(_reloader.Reload(), Is.EqualTo("reloaded configuration: nothing changed"));
    }

    [Test]
    public void The_log_level_applies_at_once()
    {
        File.AppendAllText(_path, "\nlog:\n  level: DEBUG\n");
        Assert.That(_reloader.Reload(), Is.EqualTo("reloaded configuration: applied log"));
        Assert.That(_log.Minimum, Is.EqualTo(LogLevel.Debug));
    }

    [Test]
    public void A_broken_file_is_refused_whole()
    {
        File.AppendAllText(_path, "\ntags:\n  nofailover: true\nloop_wait: [\n");
        var before = _loop.Options;
        Assert.That(_reloader.Reload(), Does.StartWith("reload refused, the running configuration stays: "));
        Assert.That(_loop.Options, Is.SameAs(before));
    }

    [Test]
    public void The_loop_refuses_changes_beyond_tags_and_parameters()
    {
        Assert.That(() => _loop.Reconfigure(_loop.Options with { CanBootstrap = !_loop.Options.CanBootstrap }),
            Throws.ArgumentException.With.Message.Contains("only tags and local PostgreSQL parameters"));
    }
}

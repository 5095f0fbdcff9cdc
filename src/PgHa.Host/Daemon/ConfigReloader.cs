using System.Collections;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using PgHa.Host.Configuration;
using PgHa.Loop;

namespace PgHa.Host.Daemon;

/// <summary>
/// SIGHUP and <c>POST /reload</c>: re-reads the configuration and applies what can change while the agent runs — the
/// log level, tags and local <c>postgresql.parameters</c> (written and reloaded on the next cycle, with
/// <c>pending_restart</c> where PostgreSQL needs one). Any other changed section is named as waiting for a restart of
/// pgha, and stays pending: it is not half-applied. An invalid file changes nothing.
/// </summary>
public sealed class ConfigReloader
{
    // Sections whose changes apply live; every other changed section needs a restart of the agent.
    private const string Log = "log";
    private const string Tags = "tags";
    private const string Postgresql = "postgresql";
    private const string Parameters = "parameters";
    private const string Bootstrap = "bootstrap";

    private readonly string? _path;
    private readonly IDictionary _environment;
    private readonly HaLoop _loop;
    private readonly ConsoleLog _log;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private Dictionary<string, string> _applied;

    /// <summary>Starts from the configuration the agent was started with.</summary>
    public ConfigReloader(string? path, IDictionary environment, ConfigLoadResult running, HaLoop loop, ConsoleLog log, ILogger logger)
    {
        _path = path;
        _environment = environment;
        _applied = new Dictionary<string, string>(running.Sections, StringComparer.Ordinal);
        _loop = loop;
        _log = log;
        _logger = logger;
    }

    /// <summary>Re-reads and applies; returns what happened, as logged.</summary>
    public string Reload()
    {
        lock (_gate)
        {
            var loaded = PgHaConfigLoader.Load(_path, _environment);
            if (!loaded.Succeeded)
            {
                var refused = "reload refused, the running configuration stays: " + loaded.FormatErrors();
                _logger.LogError("{Outcome}", refused);
                return refused;
            }
            var next = loaded.Config!;
            var applied = new List<string>();
            var pending = new List<string>();
            foreach (var section in _applied.Keys.Union(loaded.Sections.Keys).Order(StringComparer.Ordinal))
            {
                var before = _applied.GetValueOrDefault(section);
                var after = loaded.Sections.GetValueOrDefault(section);
                if (before == after) continue;
                switch (section)
                {
                    case Log when Without(before, "level") == Without(after, "level"):
                    case Tags:
                        applied.Add(section);
                        Take(section, after);
                        break;
                    case Postgresql when Without(before, Parameters) == Without(after, Parameters):
                        applied.Add("postgresql.parameters");
                        Take(section, after);
                        break;
                    case Bootstrap:
                        // Read once, when the cluster is initialised; the live cluster-wide settings are /config.
                        applied.Add("bootstrap (used only when a new cluster is initialised)");
                        Take(section, after);
                        break;
                    default:
                        pending.Add(section);
                        break;
                }
            }
            if (applied.Contains(Log)) _log.Minimum = ConsoleLog.ParseLevel(next.Log.Level);
            if (applied.Contains(Tags) || applied.Contains("postgresql.parameters"))
                _loop.Reconfigure(_loop.Options with
                {
                    Tags = applied.Contains(Tags) ? next.Tags : _loop.Options.Tags,
                    LocalPostgresParameters = applied.Contains("postgresql.parameters") ? ComponentOptions.LocalParameters(next) : _loop.Options.LocalPostgresParameters,
                });
            foreach (var warning in loaded.Warnings) _logger.LogWarning("configuration: {Warning}", warning);

            var outcome = applied.Count == 0 && pending.Count == 0 ? "reloaded configuration: nothing changed"
                : "reloaded configuration: " + (applied.Count > 0 ? "applied " + string.Join(", ", applied) : "nothing applied")
                  + (pending.Count > 0 ? "; changes to " + string.Join(", ", pending) + " take effect when pgha restarts" : "");
            if (pending.Count > 0) _logger.LogWarning("{Outcome}", outcome);
            else _logger.LogInformation("{Outcome}", outcome);
            return outcome;
        }
    }

    private void Take(string section, string? value)
    {
        if (value is null) _applied.Remove(section);
        else _applied[section] = value;
    }

    // A section's canonical JSON with one key left out, to tell "only that key changed".
    private static string Without(string? sectionJson, string key)
    {
        if (sectionJson is null) return "{}"; // an absent section is an empty one
        if (JsonNode.Parse(sectionJson) is not JsonObject obj) return sectionJson;
        obj.Remove(key);
        return obj.ToJsonString();
    }
}

using System.Collections;
using PgHa.Host.Configuration;

namespace PgHa.Host.Ctl;

/// <summary>
/// Loads the configuration <c>pgha ctl</c> works with. Like patronictl it needs only a DCS section (plus <c>scope</c>
/// and the <c>ctl</c>/<c>restapi</c> credentials): a node's own file works, and so does a small patronictl.yaml.
/// </summary>
public static class CtlConfigLoader
{
    /// <summary>patronictl's default file: <c>~/.config/patroni/patronictl.yaml</c>.</summary>
    public static string DefaultPath(IDictionary environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var configHome = environment["XDG_CONFIG_HOME"] as string;
        if (string.IsNullOrEmpty(configHome))
            configHome = Path.Combine(environment["HOME"] as string ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(configHome, "patroni", "patronictl.yaml");
    }

    // Settings a node needs but ctl does not: filled with placeholders only when the file leaves them out.
    private static readonly (string Path, string Variable, string Value)[] NodeOnly =
    [
        ("name", "NAME", "pgha-ctl"),
        ("restapi", "RESTAPI_LISTEN", "127.0.0.1:8008"),
        ("restapi", "RESTAPI_CONNECT_ADDRESS", "127.0.0.1:8008"),
        ("restapi.listen", "RESTAPI_LISTEN", "127.0.0.1:8008"),
        ("restapi.connect_address", "RESTAPI_CONNECT_ADDRESS", "127.0.0.1:8008"),
        ("postgresql", "POSTGRESQL_LISTEN", "127.0.0.1:5432"),
        ("postgresql", "POSTGRESQL_CONNECT_ADDRESS", "127.0.0.1:5432"),
        ("postgresql", "POSTGRESQL_DATA_DIR", "/nonexistent/pgha-ctl"),
        ("postgresql.listen", "POSTGRESQL_LISTEN", "127.0.0.1:5432"),
        ("postgresql.connect_address", "POSTGRESQL_CONNECT_ADDRESS", "127.0.0.1:5432"),
        ("postgresql.data_dir", "POSTGRESQL_DATA_DIR", "/nonexistent/pgha-ctl"),
    ];

    /// <summary>
    /// Loads <paramref name="path"/> (null: <c>$PATRONICTL_CONFIG_FILE</c>, else the default file if it exists, else
    /// only the environment). Throws <see cref="CtlException"/> naming every problem.
    /// </summary>
    public static PgHaConfig Load(string? path, IDictionary environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        path ??= environment["PATRONICTL_CONFIG_FILE"] as string;
        if (path is null)
        {
            var fallback = DefaultPath(environment);
            if (File.Exists(fallback)) path = fallback;
        }
        else if (!File.Exists(path) && !Directory.Exists(path))
        {
            throw new CtlException($"Provided config file {path} not existing or no read rights. Check the -c/--config-file parameter");
        }

        var result = PgHaConfigLoader.Load(path, environment);
        if (!result.Succeeded)
        {
            var filled = new Hashtable();
            foreach (DictionaryEntry e in environment) filled[e.Key] = e.Value;
            var missing = result.Errors.Where(e => e.Problem.Contains("is missing", StringComparison.Ordinal)).Select(e => e.Path).ToHashSet(StringComparer.Ordinal);
            foreach (var (settingPath, variable, value) in NodeOnly)
                if (missing.Contains(settingPath)) filled["PATRONI_" + variable] = value;
            if (filled.Count > environment.Count) result = PgHaConfigLoader.Load(path, filled);
        }
        if (!result.Succeeded)
        {
            var where = path ?? "the environment (no -c/--config-file, no $PATRONICTL_CONFIG_FILE)";
            throw new CtlException($"the configuration in {where} is not usable:{Environment.NewLine}{result.FormatErrors()}");
        }
        return result.Config!;
    }
}

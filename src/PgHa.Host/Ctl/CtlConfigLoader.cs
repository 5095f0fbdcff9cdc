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

    /// <summary>
    /// patronictl's <c>-d/--dcs-url</c> (<c>etcd3://host:port</c>, <c>etcd://…</c>, <c>consul://…</c>,
    /// <c>zookeeper://…</c>; without a scheme the DCS is guessed from the port, else etcd) as the environment override
    /// that selects that DCS.
    /// </summary>
    public static (string Variable, string Value) DcsUrlOverride(string dcsUrl)
    {
        ArgumentNullException.ThrowIfNull(dcsUrl);
        var text = dcsUrl.Contains("//", StringComparison.Ordinal) ? dcsUrl : "//" + dcsUrl;
        var scheme = text.StartsWith("//", StringComparison.Ordinal) ? "" : text[..text.IndexOf(':', StringComparison.Ordinal)];
        // Parsed as http only to split host and port; the scheme was taken above.
        if (!Uri.TryCreate("http:" + text[text.IndexOf("//", StringComparison.Ordinal)..], UriKind.Absolute, out var uri))
            throw new CtlException($"cannot read the DCS URL '{dcsUrl}'; use e.g. etcd3://127.0.0.1:2379 or consul://127.0.0.1:8500", 2);
        int? port = uri.IsDefaultPort ? null : uri.Port;
        if (scheme.Length == 0) scheme = port switch { 2181 => "zookeeper", 8500 => "consul", _ => "etcd" };
        var host = uri.Host.Length == 0 ? "localhost" : uri.Host;
        return scheme switch
        {
            "etcd3" => ("PATRONI_ETCD3_HOSTS", $"{host}:{port ?? 2379}"),
            "etcd" => ("PATRONI_ETCD_HOSTS", $"{host}:{port ?? 2379}"),
            "consul" => ("PATRONI_CONSUL_HOST", $"{host}:{port ?? 8500}"),
            "zookeeper" => ("PATRONI_ZOOKEEPER_HOSTS", $"{host}:{port ?? 2181}"),
            _ => throw new CtlException($"Unknown dcs scheme: {scheme}; use etcd3, etcd, consul or zookeeper", 2),
        };
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
    public static PgHaConfig Load(string? path, IDictionary environment, string? dcsUrl = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        dcsUrl ??= environment["DCS_URL"] as string;
        if (!string.IsNullOrEmpty(dcsUrl))
        {
            // A PATRONI_<DCS>_* variable selects that DCS and drops the DCS sections of the file, as -d does in patronictl.
            var (variable, value) = DcsUrlOverride(dcsUrl);
            var copy = new Hashtable();
            foreach (DictionaryEntry e in environment) copy[e.Key] = e.Value;
            copy[variable] = value;
            environment = copy;
        }
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

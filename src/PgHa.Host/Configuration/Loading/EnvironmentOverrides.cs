using System.Collections;
using PgHa.Host.Configuration.Binding;
using PgHa.Host.Configuration.Yaml;

namespace PgHa.Host.Configuration.Loading;

/// <summary>
/// Builds the configuration tree set by environment variables, following Patroni's
/// <c>Config._build_environment_configuration</c>: <c>PATRONI_NAME</c>, <c>PATRONI_RESTAPI_LISTEN</c>,
/// <c>PATRONI_SUPERUSER_PASSWORD</c>, <c>PATRONI_ETCD3_HOSTS</c>, … Every <c>PATRONI_X</c> also exists as
/// <c>PGHA_X</c>, which wins when both are set. Lists and mappings are parsed as YAML (<c>a,b</c> → <c>[a,b]</c>).
/// </summary>
internal sealed class EnvironmentOverrides
{
    public const string PatroniPrefix = "PATRONI_";
    public const string PgHaPrefix = "PGHA_";

    private static readonly string[] RestApiKeys =
        ["listen", "connect_address", "certfile", "keyfile", "keyfile_password", "cafile", "ciphers", "verify_client", "http_extra_headers",
         "https_extra_headers", "allowlist", "allowlist_include_members", "request_queue_size"];
    private static readonly string[] CtlKeys = ["insecure", "cacert", "certfile", "keyfile", "keyfile_password"];
    private static readonly string[] PostgresqlKeys = ["listen", "connect_address", "proxy_address", "config_dir", "data_dir", "pgpass", "bin_dir"];
    private static readonly string[] LogKeys = ["type", "level", "traceback_level", "format", "dateformat", "max_queue_size", "dir", "file_size", "file_num", "loggers"];
    private static readonly string[] RaftKeys = ["data_dir", "self_addr", "partner_addrs", "password", "bind_addr"];
    private static readonly string[] AuthKeys =
        ["username", "password", "sslmode", "sslcert", "sslkey", "sslpassword", "sslrootcert", "sslcrl", "sslcrldir", "gssencmode", "channel_binding"];

    private static readonly HashSet<string> DcsSuffixes = new(StringComparer.Ordinal)
    {
        "HOST", "HOSTS", "PORT", "USE_PROXIES", "PROTOCOL", "SRV", "SRV_SUFFIX", "URL", "PROXY", "CACERT", "CERT", "KEY", "VERIFY", "TOKEN",
        "CHECKS", "DC", "CONSISTENCY", "REGISTER_SERVICE", "SERVICE_CHECK_INTERVAL", "SERVICE_CHECK_TLS_SERVER_NAME", "SERVICE_TAGS",
        "NAMESPACE", "CONTEXT", "USE_ENDPOINTS", "SCOPE_LABEL", "ROLE_LABEL", "POD_IP", "PORTS", "LABELS", "BYPASS_API_SERVICE",
        "RETRIABLE_HTTP_CODES", "KEY_PASSWORD", "USE_SSL", "SET_ACLS", "AUTH_DATA", "GROUP", "DATABASE",
    };
    private static readonly HashSet<string> ListSuffixes = new(StringComparer.Ordinal) { "HOSTS", "PORTS", "CHECKS", "SERVICE_TAGS", "RETRIABLE_HTTP_CODES" };
    private static readonly HashSet<string> DictSuffixes = new(StringComparer.Ordinal) { "LABELS", "SET_ACLS", "AUTH_DATA" };

    /// <summary>Prefixes (after PATRONI_/PGHA_) of variables meant for PgHa, so a typo among them is worth a warning.</summary>
    private static readonly string[] WatchedPrefixes =
        ["RESTAPI_", "CTL_", "POSTGRESQL_", "LOG_", "SUPERUSER_", "REPLICATION_", "REWIND_", "ETCD_", "ETCD3_", "CONSUL_", "ZOOKEEPER_"];

    /// <summary>Variable suffix (after the prefix) → value and the variable that set it.</summary>
    private readonly SortedDictionary<string, (string Value, string Variable)> _vars = new(StringComparer.Ordinal);
    private readonly Problems _problems;

    private EnvironmentOverrides(IDictionary environment, Problems problems)
    {
        _problems = problems;
        foreach (var prefix in new[] { PatroniPrefix, PgHaPrefix }) // PGHA_ second: it wins
        {
            foreach (DictionaryEntry entry in environment)
            {
                if (entry.Key is not string name || entry.Value?.ToString() is not { } value) continue;
                if (!name.StartsWith(prefix, StringComparison.Ordinal) || name.Length == prefix.Length) continue;
                var key = name[prefix.Length..];
                if (key == "CONFIGURATION") continue;
                _vars[key] = (value, name);
            }
        }
    }

    /// <summary>The tree to patch over the file configuration.</summary>
    public ConfigMap Tree { get; } = new(new ConfigSource("environment"));

    /// <summary>
    /// Key paths whose variable could not be parsed. The raw text stands in for the value (so nothing reports the
    /// setting as missing), and the loader keeps only the parse error for these paths.
    /// </summary>
    public HashSet<string> FailedPaths { get; } = new(StringComparer.Ordinal);

    /// <summary>DCS sections selected by environment variables (in the order seen).</summary>
    public List<string> SelectedDcs { get; } = [];

    public static EnvironmentOverrides Build(IDictionary environment, Problems problems)
    {
        var env = new EnvironmentOverrides(environment, problems);
        env.Run();
        return env;
    }

    /// <summary>The value of <c>PGHA_&lt;name&gt;</c>, else <c>PATRONI_&lt;name&gt;</c>, with the variable that set it.</summary>
    public static (string Value, string Variable)? Lookup(IDictionary environment, string name)
    {
        foreach (var prefix in new[] { PgHaPrefix, PatroniPrefix })
            if (environment[prefix + name]?.ToString() is { } v)
                return (v, prefix + name);
        return null;
    }

    private (string Value, string Variable)? Pop(string key)
    {
        if (!_vars.Remove(key, out var v)) return null;
        return v.Value.Length == 0 ? null : v; // Patroni skips empty values
    }

    private static ConfigSource Src(string variable) => ConfigSource.Environment(variable);

    private void Set(string[] path, ConfigNode value, string variable)
    {
        var map = Tree;
        for (var i = 0; i < path.Length - 1; i++) map = map.GetOrAddMap(path[i], Src(variable));
        map.Set(path[^1], Src(variable), value);
    }

    private void SetString(string[] path, (string Value, string Variable) v) =>
        Set(path, ConfigScalar.String(Src(v.Variable), v.Value), v.Variable);

    private void Run()
    {
        foreach (var p in new[] { "name", "namespace", "scope" })
            if (Pop(p.ToUpperInvariant()) is { } v) SetString([p], v);

        // Old names of the log settings, used only when the new name is not set.
        foreach (var (name, old) in new[] { ("LEVEL", "LOGLEVEL"), ("FORMAT", "LOGFORMAT"), ("DATEFORMAT", "LOG_DATEFMT") })
            if (Pop(old) is { } v && !_vars.ContainsKey("LOG_" + name)) _vars["LOG_" + name] = v;

        Section("restapi", RestApiKeys);
        Section("ctl", CtlKeys);
        Section("postgresql", PostgresqlKeys);
        Section("log", LogKeys);
        Section("raft", RaftKeys);

        Auth("RESTAPI", ["restapi", "authentication"], ["username", "password"]);
        Auth("CTL", ["ctl", "authentication"], ["username", "password"]);
        foreach (var user in new[] { "replication", "superuser", "rewind" })
            Auth(user.ToUpperInvariant(), ["postgresql", "authentication", user], AuthKeys);

        // PATRONI_POSTGRESQL_BIN_<NAME> → postgresql.bin_name.<name> (BIN_DIR is bin_dir, handled above).
        foreach (var key in _vars.Keys.Where(k => k.StartsWith("POSTGRESQL_BIN_", StringComparison.Ordinal)).ToList())
            if (Pop(key) is { } v) SetString(["postgresql", "bin_name", key["POSTGRESQL_BIN_".Length..].ToLowerInvariant()], v);

        foreach (var key in _vars.Keys.ToList())
        {
            var underscore = key.IndexOf('_', StringComparison.Ordinal);
            if (underscore <= 0) continue;
            var name = key[..underscore];
            var suffix = key[(underscore + 1)..];
            if (!DcsSuffixes.Contains(suffix)) continue;
            if (Pop(key) is not { } v) continue;
            var section = name.ToLowerInvariant();
            ConfigNode? value = ListSuffixes.Contains(suffix) ? ParseList(v, $"{section}.{suffix.ToLowerInvariant()}")
                : DictSuffixes.Contains(suffix) ? ParseDict(v, $"{section}.{suffix.ToLowerInvariant()}")
                : ConfigScalar.String(Src(v.Variable), v.Value);
            Set([section, suffix.ToLowerInvariant()], value ?? ConfigScalar.String(Src(v.Variable), v.Value), v.Variable);
            SelectDcs(section);
        }

        foreach (var dcs in new[] { "etcd", "etcd3" })
        {
            foreach (var p in new[] { "username", "password" })
            {
                if (Pop($"{dcs.ToUpperInvariant()}_{p.ToUpperInvariant()}") is { } v)
                {
                    SetString([dcs, p], v);
                    SelectDcs(dcs);
                }
            }
        }

        // PATRONI_<user>_PASSWORD / _OPTIONS: bootstrap users (removed in Patroni 4).
        foreach (var key in _vars.Keys.Where(k => k.EndsWith("_PASSWORD", StringComparison.Ordinal) && k.Length > "_PASSWORD".Length).ToList())
        {
            if (Pop(key) is not { } v) continue;
            var user = key[..^"_PASSWORD".Length];
            Set(["bootstrap", "users", user, "password"], ConfigScalar.String(Src(v.Variable), v.Value), v.Variable);
            if (Pop(user + "_OPTIONS") is { } o)
                Set(["bootstrap", "users", user, "options"], ParseList(o, $"bootstrap.users.{user}.options") ?? ConfigScalar.String(Src(o.Variable), o.Value), o.Variable);
        }

        foreach (var (key, v) in _vars)
            if (WatchedPrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal)))
                _problems.Warn("", $"environment variable {v.Variable} is not a setting PgHa or Patroni knows; ignored", Src(v.Variable));
    }

    private void SelectDcs(string section)
    {
        if ((ConfigBinder.SupportedDcs.Contains(section) || ConfigBinder.UnsupportedDcs.Contains(section)) && !SelectedDcs.Contains(section))
            SelectedDcs.Add(section);
    }

    private void Section(string section, string[] keys)
    {
        foreach (var k in keys)
        {
            if (Pop($"{section.ToUpperInvariant()}_{k.ToUpperInvariant()}") is not { } v) continue;
            var path = $"{section}.{k}";
            ConfigNode? value = (section, k) switch
            {
                ("restapi", "allowlist") or ("raft", "partner_addrs") => ParseList(v, path),
                ("restapi", "http_extra_headers" or "https_extra_headers") or ("log", "loggers") => ParseDict(v, path),
                _ => ConfigScalar.String(Src(v.Variable), v.Value),
            };
            Set([section, k], value ?? ConfigScalar.String(Src(v.Variable), v.Value), v.Variable);
        }
    }

    private void Auth(string prefix, string[] path, string[] keys)
    {
        foreach (var k in keys)
            if (Pop($"{prefix}_{k.ToUpperInvariant()}") is { } v)
                SetString([.. path, k], v);
    }

    /// <summary>Patroni's <c>_parse_list</c>: <c>a,b</c> is read as <c>[a,b]</c>; <c>- a</c> and <c>[a]</c> as they are.</summary>
    private ConfigNode? ParseList((string Value, string Variable) v, string path)
    {
        var text = v.Value.TrimStart().StartsWith('-') || v.Value.Contains('[', StringComparison.Ordinal) ? v.Value : $"[{v.Value}]";
        var node = ParseYaml(text, v.Variable, path);
        if (node is ConfigList) return node;
        if (node is not null) Fail(path, $"expected a YAML list, found {node.Describe()}", v.Variable);
        return null;
    }

    /// <summary>Patroni's <c>_parse_dict</c>: <c>a: 1, b: 2</c> is read as <c>{a: 1, b: 2}</c>.</summary>
    private ConfigNode? ParseDict((string Value, string Variable) v, string path)
    {
        var text = v.Value.TrimStart().StartsWith('{') ? v.Value : $"{{{v.Value}}}";
        var node = ParseYaml(text, v.Variable, path);
        if (node is ConfigMap) return node;
        if (node is not null) Fail(path, $"expected a YAML mapping, found {node.Describe()}", v.Variable);
        return null;
    }

    private ConfigNode? ParseYaml(string text, string variable, string path)
    {
        var node = YamlTreeReader.Read(text, "$" + variable, out var error);
        if (error is not null)
        {
            Fail(path, $"cannot parse the value: {error.Problem}", variable);
            return null;
        }
        if (node is null)
        {
            Fail(path, "cannot parse the value: it is empty", variable);
            return null;
        }
        Relabel(node, Src(variable));
        return node;
    }

    /// <summary>How many errors the variables caused.</summary>
    public int ErrorCount { get; private set; }

    private void Fail(string path, string problem, string variable)
    {
        ErrorCount++;
        _problems.Error(path, problem, Src(variable));
        FailedPaths.Add(path);
    }

    private static void Relabel(ConfigNode node, ConfigSource source)
    {
        node.Source = source;
        switch (node)
        {
            case ConfigList l:
                foreach (var i in l.Items) Relabel(i, source);
                break;
            case ConfigMap m:
                for (var i = 0; i < m.Entries.Count; i++)
                {
                    Relabel(m.Entries[i].Value, source);
                    m.Entries[i] = m.Entries[i] with { KeySource = source };
                }
                break;
        }
    }
}

using System.Collections;
using System.Text;
using PgHa.Host.Configuration.Binding;
using PgHa.Host.Configuration.Loading;
using PgHa.Host.Configuration.Yaml;

namespace PgHa.Host.Configuration;

/// <summary>What <see cref="PgHaConfigLoader.Load"/> found: the configuration, or every problem with it.</summary>
public sealed record ConfigLoadResult
{
    /// <summary>The configuration; null when <see cref="Errors"/> is not empty (nothing is half-applied).</summary>
    public PgHaConfig? Config { get; init; }
    /// <summary>Every problem, in file order; empty on success.</summary>
    public IReadOnlyList<ConfigError> Errors { get; init; } = [];
    /// <summary>Settings accepted but worth a word (ignored as in Patroni, removed in Patroni 4, …).</summary>
    public IReadOnlyList<ConfigError> Warnings { get; init; } = [];
    /// <summary>The files read, in merge order (empty when the configuration came from the environment).</summary>
    public IReadOnlyList<string> Files { get; init; } = [];

    /// <summary>
    /// Each top-level section of the merged configuration (file and environment) as canonical JSON text, so a reload
    /// can tell exactly which sections changed.
    /// </summary>
    public IReadOnlyDictionary<string, string> Sections { get; init; } = new Dictionary<string, string>();

    /// <summary>True when <see cref="Config"/> is set.</summary>
    public bool Succeeded => Config is not null;

    /// <summary>One line per error (<c>source: path: problem</c>), for the operator.</summary>
    public string FormatErrors() => string.Join(Environment.NewLine, Errors.Select(e => e.ToString()));
}

/// <summary>
/// Loads a <c>pgha</c> node's configuration the way Patroni does: a YAML file, or a directory whose <c>*.yml</c> and
/// <c>*.yaml</c> files are merged in sorted order (later files override, <c>null</c> removes a key), or, without a path,
/// the whole YAML from <c>PGHA_CONFIGURATION</c>/<c>PATRONI_CONFIGURATION</c>; then the <c>PATRONI_*</c> environment
/// overrides (each also as <c>PGHA_*</c>, which wins). A <c>PATRONI_&lt;DCS&gt;_*</c> variable selects that DCS: DCS
/// sections of the file are dropped in its favour.
/// </summary>
public static class PgHaConfigLoader
{
    /// <summary>Loads and validates; never throws for a bad configuration, reporting all its problems instead.</summary>
    /// <param name="path">A YAML file or a directory of them; null to read <c>PGHA_CONFIGURATION</c>/<c>PATRONI_CONFIGURATION</c> (or only the overrides).</param>
    /// <param name="environment">The environment, e.g. <see cref="Environment.GetEnvironmentVariables()"/>.</param>
    public static ConfigLoadResult Load(string? path, IDictionary environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var problems = new Problems();
        var files = new List<string>();
        ConfigMap? root = null;

        if (path is not null)
        {
            root = LoadPath(path, files, problems);
        }
        else if (EnvironmentOverrides.Lookup(environment, "CONFIGURATION") is { } whole)
        {
            root = ReadDocument(whole.Value, "$" + whole.Variable, problems);
        }

        var overrides = EnvironmentOverrides.Build(environment, problems);
        if (problems.Errors.Count > overrides.ErrorCount)
            return Fail(problems, files, overrides); // the YAML could not be read: binding the rest would only mislead

        root ??= new ConfigMap(new ConfigSource(path ?? "environment"));
        if (overrides.SelectedDcs.Count > 0)
        {
            // A DCS chosen by the environment replaces whatever DCS the file configured.
            foreach (var dcs in ConfigBinder.SupportedDcs.Concat(ConfigBinder.UnsupportedDcs))
                if (!overrides.SelectedDcs.Contains(dcs)) root.Remove(dcs);
        }
        ConfigMerge.Patch(root, overrides.Tree);
        if (root.Entries.Count == 0)
        {
            problems.Error("", "the configuration is empty", root.Source);
            return Fail(problems, files, overrides);
        }

        var config = ConfigBinder.Bind(root, problems);
        if (problems.Errors.Count > 0 || config is null) return Fail(problems, files, overrides);
        return new ConfigLoadResult
        {
            Config = config, Warnings = problems.Warnings, Files = files,
            Sections = root.Entries.ToDictionary(e => e.Key, e => e.Value.ToJson()?.ToJsonString() ?? "null", StringComparer.Ordinal),
        };
    }

    private static ConfigLoadResult Fail(Problems problems, List<string> files, EnvironmentOverrides? overrides = null) => new()
    {
        // A variable that could not be parsed gets one error: the parse error, not also what its raw text then caused.
        Errors = [.. problems.Errors
            .Where((e, i) => overrides is null || !overrides.FailedPaths.Contains(e.Path) || problems.Errors.FindIndex(x => x.Path == e.Path) == i)
            .OrderBy(e => e.Source?.Origin ?? "", StringComparer.Ordinal).ThenBy(e => e.Source?.Line ?? 0).ThenBy(e => e.Source?.Column ?? 0)],
        Warnings = problems.Warnings,
        Files = files,
    };

    private static ConfigMap? LoadPath(string path, List<string> files, Problems problems)
    {
        if (File.Exists(path))
        {
            files.Add(path);
        }
        else if (Directory.Exists(path))
        {
            files.AddRange(Directory.EnumerateFiles(path)
                .Where(f => f.EndsWith(".yml", StringComparison.Ordinal) || f.EndsWith(".yaml", StringComparison.Ordinal))
                .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal));
            if (files.Count == 0)
            {
                problems.Error("", "the directory has no *.yml or *.yaml file", new ConfigSource(path));
                return null;
            }
        }
        else
        {
            problems.Error("", "no such file or directory", new ConfigSource(path));
            return null;
        }

        ConfigMap? merged = null;
        foreach (var file in files)
        {
            string text;
            try
            {
                text = File.ReadAllText(file, new UTF8Encoding(false, throwOnInvalidBytes: true));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DecoderFallbackException)
            {
                problems.Error("", $"cannot read the file: {ex.Message}", new ConfigSource(file));
                continue;
            }
            var doc = ReadDocument(text, file, problems);
            if (doc is null) continue;
            if (merged is null) merged = doc;
            else ConfigMerge.Patch(merged, doc);
        }
        return merged;
    }

    private static ConfigMap? ReadDocument(string text, string origin, Problems problems)
    {
        var node = YamlTreeReader.Read(text, origin, out var error);
        if (error is not null)
        {
            problems.Errors.Add(error);
            return null;
        }
        switch (node)
        {
            case null:
                return new ConfigMap(new ConfigSource(origin));
            case ConfigMap map:
                return map;
            default:
                problems.Error("", $"the configuration must be a mapping of settings, found {node.Describe()}", node.Source);
                return null;
        }
    }
}

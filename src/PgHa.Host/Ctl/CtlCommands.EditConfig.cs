using System.Text;
using System.Text.Json.Nodes;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;

namespace PgHa.Host.Ctl;

/// <summary>What <c>edit-config</c> was asked to do.</summary>
/// <param name="Set"><c>-s key=value</c> pairs.</param>
/// <param name="Pg"><c>-p param=value</c> pairs (shorthand for <c>-s postgresql.parameters.param=value</c>).</param>
/// <param name="ApplyFile"><c>--apply FILE</c> (<c>-</c> = stdin): merged into the configuration.</param>
/// <param name="ReplaceFile"><c>--replace FILE</c> (<c>-</c> = stdin): replaces the configuration.</param>
/// <param name="Force">Apply without asking.</param>
/// <param name="Quiet">Do not show the diff.</param>
public sealed record EditConfigRequest(IReadOnlyList<string> Set, IReadOnlyList<string> Pg, string? ApplyFile, string? ReplaceFile, bool Force, bool Quiet);

public static partial class CtlCommands
{
    /// <summary><c>show-config</c>: the dynamic configuration as YAML.</summary>
    public static async Task<int> ShowConfigAsync(CtlSession session, string? clusterName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        await session.UseClusterAsync(clusterName).ConfigureAwait(false);
        var cluster = await session.LoadClusterAsync(cancellationToken).ConfigureAwait(false);
        session.Out.WriteLine(PyYaml.Dump(ConfigData(cluster)));
        return 0;
    }

    private static JsonObject ConfigData(ClusterState cluster) =>
        cluster.Config is { } c && PatroniJson.TryParse(c.RawJson, out _) is JsonObject o ? o : [];

    /// <summary>
    /// <c>edit-config</c>: applies the edits (or opens the editor when none are given), shows the diff, asks (unless
    /// forced) and writes the <c>config</c> key with a compare-and-set on the version read, so a concurrent change
    /// aborts instead of being overwritten.
    /// </summary>
    public static async Task<int> EditConfigAsync(CtlSession session, string? clusterName, EditConfigRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(request);
        var console = session.Console;
        await session.UseClusterAsync(clusterName).ConfigureAwait(false);
        var cluster = await session.LoadClusterAsync(cancellationToken).ConfigureAwait(false);
        var data = ConfigData(cluster);
        var before = PyYaml.Dump(data);
        string? after = null;
        var changed = data;

        if (request.ReplaceFile is { } replace)
        {
            changed = ConfigEditing.ApplyPatch([], ReadYamlMapping(session, replace));
            after = PyYaml.Dump(changed);
        }
        if (request.ApplyFile is { } apply)
        {
            changed = ConfigEditing.ApplyPatch(changed, ReadYamlMapping(session, apply));
            after = PyYaml.Dump(changed);
        }
        if (request.Set.Count > 0 || request.Pg.Count > 0)
        {
            changed = ConfigEditing.ApplyPairs(changed, [.. request.Set, .. request.Pg.Select(p => "postgresql.parameters." + p.TrimStart())]);
            after = PyYaml.Dump(changed);
        }
        if (after is null)
        {
            (after, changed) = InvokeEditor(session, before);
        }

        if (JsonNode.DeepEquals(data, changed))
        {
            if (!request.Quiet) console.Out.WriteLine("Not changed");
            return 0;
        }
        if (!request.Quiet)
            foreach (var line in UnifiedDiff.Compute(before, after)) console.Out.WriteLine(line);
        if ((request.ApplyFile == "-" || request.ReplaceFile == "-") && !request.Force)
        {
            // stdin held the configuration, so there is nobody left to answer the question.
            console.Out.WriteLine("Use --force option to apply changes");
            return 1;
        }
        if (!request.Force && !CtlPrompts.Confirm(console, "Apply these changes?")) return 0;
        var condition = cluster.Config is { } current ? WriteCondition.IfVersion(current.Version) : WriteCondition.IfAbsent;
        var written = await session.WriteAsync(d => d.TryWriteAsync(ClusterKey.Config, PatroniJson.SerializeSpaced(changed), condition, CancellationToken.None), "write the configuration").ConfigureAwait(false);
        if (!written) throw new CtlException("Config modification aborted due to concurrent changes; run the command again to edit the current configuration");
        console.Out.WriteLine("Configuration changed");
        return 0;
    }

    private static JsonObject ReadYamlMapping(CtlSession session, string file)
    {
        string text;
        if (file == "-")
        {
            var sb = new StringBuilder();
            while (session.Console.ReadLine() is { } line) sb.Append(line).Append('\n');
            text = sb.ToString();
        }
        else
        {
            try
            {
                text = File.ReadAllText(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CtlException($"cannot read {file}: {ex.Message}", ex);
            }
        }
        var origin = file == "-" ? "standard input" : file;
        return ConfigEditing.ParseYaml(text, origin) switch
        {
            JsonObject o => o,
            null => [],
            _ => throw new CtlException($"{origin} must hold a YAML mapping of configuration keys (e.g. 'loop_wait: 5')"),
        };
    }

    private static (string After, JsonObject Changed) InvokeEditor(CtlSession session, string before)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{session.Scope}-config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, before, new UTF8Encoding(false));
        try
        {
            var code = session.Runtime.Edit(path);
            if (code != 0) throw new CtlException($"Editor exited with return code {code}");
            var after = File.ReadAllText(path);
            return ConfigEditing.ParseYaml(after, "the edited configuration") switch
            {
                JsonObject o => (after, o),
                null => throw new CtlException("the edited configuration is empty; nothing was changed"),
                _ => throw new CtlException("the edited configuration must be a YAML mapping; nothing was changed"),
            };
        }
        finally
        {
            File.Delete(path);
        }
    }
}

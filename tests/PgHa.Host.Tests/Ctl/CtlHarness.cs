using System.Collections;
using System.Text.Json.Nodes;
using PgHa.Cluster;
using PgHa.Cluster.Serialization;
using PgHa.Dcs;
using PgHa.Host.Ctl;
using PgHa.Testing;

namespace PgHa.Host.Tests.Ctl;

/// <summary>Console with scripted answers; records everything printed.</summary>
internal sealed class ScriptedConsole(params string[] answers) : ICtlConsole
{
    private readonly Queue<string> _answers = new(answers);

    public StringWriter OutWriter { get; } = new() { NewLine = "\n" };
    public StringWriter ErrorWriter { get; } = new() { NewLine = "\n" };
    public TextWriter Out => OutWriter;
    public TextWriter Error => ErrorWriter;
    public bool IsTerminal => false;
    public int Unanswered => _answers.Count;

    public string? ReadLine() => _answers.TryDequeue(out var a) ? a : null;
}

/// <summary>A REST API that records requests and answers from a script (status, body) per endpoint.</summary>
internal sealed class RecordingRest : ICtlRest
{
    public List<(string Member, string Method, string Endpoint, string? Body)> Calls { get; } = [];
    public Dictionary<string, Func<Member, RestReply>> Replies { get; } = new(StringComparer.Ordinal);
    public HashSet<string> Unreachable { get; } = new(StringComparer.Ordinal);

    public Task<RestReply> SendAsync(Member member, HttpMethod method, string endpoint, JsonNode? body, CancellationToken cancellationToken)
    {
        Calls.Add((member.Name, method.Method, endpoint, body is null ? null : PatroniJson.Serialize(body)));
        if (Unreachable.Contains(member.Name)) throw new MemberUnreachableException($"cannot reach {member.Name}: Connection refused");
        return Task.FromResult(Replies.TryGetValue($"{method.Method} {endpoint}", out var reply) ? reply(member) : new RestReply(200, "OK"));
    }
}

/// <summary>
/// Runs <c>pgha ctl</c> in-process against an in-memory DCS holding cluster <c>batman</c> (under <c>/service/</c>) and
/// a scripted or real REST API, with a minimal patronictl.yaml (scope + etcd3 section, never contacted).
/// </summary>
internal sealed class CtlHarness : IDisposable
{
    public const string Prefix = "/service/batman/";
    private readonly string _dir = Directory.CreateTempSubdirectory("pgha-ctl-test-").FullName;

    public CtlHarness(string? configYaml = null, InMemoryDcsStore? store = null)
    {
        Store = store ?? new InMemoryDcsStore(TimeProvider.System);
        ConfigPath = Path.Combine(_dir, "patronictl.yml");
        File.WriteAllText(ConfigPath, configYaml ?? "scope: batman\nnamespace: /service/\netcd3:\n  hosts: 127.0.0.1:1\n");
    }

    public InMemoryDcsStore Store { get; }
    public bool UseHttp { get; set; }
    public RecordingRest Rest { get; } = new();
    public ICtlRest? RealRest { get; set; }
    public string ConfigPath { get; }
    public List<InMemoryDcs> Opened { get; } = [];
    public bool DcsReachable { get; set; } = true;
    public Func<string, int>? Editor { get; set; }
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal) { ["HOME"] = "/nonexistent" };

    public static string GoldenDir => Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", "Ctl", "Golden");

    public static string FixtureDir(string state)
    {
        var own = Path.Combine(GoldenDir, state);
        return File.Exists(Path.Combine(own, "leader")) ? own
            : Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", "..", "PgHa.Core.Tests", "Fixtures", "patroni-3.0.2", "etcd3", state);
    }

    /// <summary>Loads the DCS keys of a Patroni fixture state (files named like <c>members__node1</c>).</summary>
    public void LoadState(string state)
    {
        var dir = FixtureDir(state);
        foreach (var file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            if (name.StartsWith('_') || name.StartsWith("rest-", StringComparison.Ordinal) || name.Contains('.', StringComparison.Ordinal) || name.Contains('-', StringComparison.Ordinal)) continue;
            var value = File.ReadAllText(file);
            var key = name.Replace("__", "/", StringComparison.Ordinal);
            if (key == "leader") Store.TryAcquireLeader(Prefix, value.Trim(), TimeSpan.FromMinutes(10));
            else if (key.StartsWith("members/", StringComparison.Ordinal)) Store.TouchMember(Prefix, key["members/".Length..], value, TimeSpan.FromMinutes(10));
            else Store.TryWrite(Prefix, key, value, WriteCondition.Always);
        }
    }

    public string? Key(string key) => Store.ReadAll(Prefix).FirstOrDefault(e => e.Key == key)?.Value;

    public (int Exit, string Out, string Err, ScriptedConsole Console) Run(string[] args, params string[] answers)
    {
        var console = new ScriptedConsole(answers);
        var (exit, _, _) = RunWith(console, args);
        return (exit, console.OutWriter.ToString(), console.ErrorWriter.ToString(), console);
    }

    public (int Exit, string Out, string Err) RunWith(ICtlConsole console, string[] args)
    {
        var env = new Hashtable();
        foreach (var (k, v) in Environment) env[k] = v;
        var runtime = new CtlRuntime
        {
            Console = console,
            Environment = env,
            CreateDcs = config =>
            {
                var dcs = new InMemoryDcs(Store, config.Namespace.Trim('/'), config.Scope, "ctl") { Reachable = DcsReachable };
                Opened.Add(dcs);
                return dcs;
            },
            CreateRest = (config, insecure) => UseHttp ? new HttpCtlRest(config, insecure, TimeSpan.FromSeconds(30)) : RealRest ?? Rest,
            RunEditor = Editor,
            PollInterval = TimeSpan.FromMilliseconds(20),
        };
        var exit = PgHaCli.Run(["ctl", "-c", ConfigPath, .. args], runtime);
        return (exit, console.Out.ToString() ?? "", console.Error.ToString() ?? "");
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}

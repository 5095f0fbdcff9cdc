using System.Globalization;
using PgHa.ConsulTestServer;

// dotnet run --project tests/PgHa.ConsulTestServer -- --port 8500 [--address 127.0.0.1] [--session-ttl-min 10s] [--token T]
var options = new ConsulTestServerOptions { Port = 8500 };
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--port": options.Port = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--address": options.Address = Next(); break;
        case "--datacenter": options.Datacenter = Next(); break;
        case "--token": options.RequiredToken = Next(); break;
        case "--session-ttl-min":
            var text = Next();
            options.SessionTtlMin = GoDuration.TryParse(text, out var min) ? min : throw new ArgumentException($"--session-ttl-min: '{text}' is not a duration like 10s");
            break;
        case "-h" or "--help":
            Console.WriteLine("usage: PgHa.ConsulTestServer [--port 8500] [--address 127.0.0.1] [--datacenter dc1] [--session-ttl-min 10s] [--token TOKEN]");
            return 0;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}' (try --help)");
            return 2;
    }
}
var problems = options.Validate();
if (problems.Count > 0)
{
    Console.Error.WriteLine(string.Join(Environment.NewLine, problems));
    return 2;
}

await using var server = await ConsulTestServer.StartAsync(options, TimeProvider.System);
Console.WriteLine($"Consul API test server listening on {server.Address} (datacenter {options.Datacenter}, session TTL min {GoDuration.Format(options.SessionTtlMin)})");
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
try
{
    await Task.Delay(Timeout.InfiniteTimeSpan, TimeProvider.System, stop.Token);
}
catch (OperationCanceledException)
{
    // Ctrl+C or SIGTERM.
}
return 0;

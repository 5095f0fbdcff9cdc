using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace PgHa.EndToEnd.Tests.Harness;

/// <summary>
/// What the end-to-end tests need on this machine — PostgreSQL 15, etcd, the built <c>pgha</c>, a non-root user — and
/// where those are. A missing server fails the test with a clear message, or ignores it with PGHA_ALLOW_MISSING_SERVERS=1.
/// </summary>
internal static class E2eEnvironment
{
    public const string PgBinDirectory = "/usr/lib/postgresql/15/bin";

    /// <summary>The etcd binary: Debian's etcd-server package, or PGHA_ETCD_BINARY.</summary>
    public static string EtcdBinary => Environment.GetEnvironmentVariable("PGHA_ETCD_BINARY") is { Length: > 0 } path ? path : "/usr/bin/etcd";

    /// <summary>Debian's patronictl (package patroni), or PGHA_PATRONICTL.</summary>
    public static string PatroniCtl => Environment.GetEnvironmentVariable("PGHA_PATRONICTL") is { Length: > 0 } path ? path : "/usr/bin/patronictl";

    public static bool AllowMissingServers => Environment.GetEnvironmentVariable("PGHA_ALLOW_MISSING_SERVERS") == "1";

    /// <summary>
    /// pgha.dll as the build of src/PgHa.Host produced it (the test project references that project so it is built
    /// first, in the same configuration); PGHA_HOST_ASSEMBLY overrides it.
    /// </summary>
    public static string PgHaAssembly =>
        Environment.GetEnvironmentVariable("PGHA_HOST_ASSEMBLY") is { Length: > 0 } path
            ? path
            : typeof(E2eEnvironment).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                  .FirstOrDefault(a => a.Key == "PgHaHostAssembly")?.Value ?? "";

    /// <summary>
    /// A published (ahead-of-time compiled) <c>pgha</c> executable to test instead of pgha.dll: PGHA_HOST_BINARY.
    /// scripts/test publishes one so the end-to-end tests run what users run.
    /// </summary>
    public static string? PgHaBinary => Environment.GetEnvironmentVariable("PGHA_HOST_BINARY") is { Length: > 0 } path ? path : null;

    /// <summary>What the tests run: the program and the arguments that come before pgha's own (<c>run</c>, <c>ctl</c>, …).</summary>
    public static (string Program, string[] Prefix) PgHaCommand =>
        PgHaBinary is { } binary ? (binary, []) : (DotnetHost, [PgHaAssembly]);

    /// <summary>The dotnet host that runs pgha.dll: the one running these tests when it is a dotnet host, else DOTNET_HOST_PATH, else dotnet on PATH.</summary>
    public static string DotnetHost
    {
        get
        {
            if (Environment.ProcessPath is { } self && Path.GetFileName(self) == "dotnet") return self;
            if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = Path.Combine(dir, "dotnet");
                if (File.Exists(candidate)) return candidate;
            }
            return "dotnet";
        }
    }

    /// <summary>Fails (or ignores, with PGHA_ALLOW_MISSING_SERVERS=1) when the cluster cannot run here.</summary>
    public static void RequireServers()
    {
        if (!File.Exists(Path.Combine(PgBinDirectory, "initdb")))
            Missing($"PostgreSQL 15 is not installed ({PgBinDirectory}/initdb is missing). Run the tests through scripts/test, which installs postgresql-15.");
        if (!File.Exists(EtcdBinary))
            Missing($"The etcd server ({EtcdBinary}) is not installed. Run the tests through scripts/test, which installs etcd-server and etcd-client (or set PGHA_ETCD_BINARY).");
        if (Environment.IsPrivilegedProcess)
            Missing("PostgreSQL and pgha refuse to run as root. Run the tests through scripts/test (it runs the suite as the unprivileged user pgha-test).");
        if (PgHaBinary is { } binary)
        {
            if (!File.Exists(binary)) Assert.Fail($"PGHA_HOST_BINARY is set to {binary}, which does not exist. Publish it (dotnet publish src/PgHa.Host -c Release -o DIR) or unset it.");
        }
        else if (PgHaAssembly.Length == 0 || !File.Exists(PgHaAssembly))
            Assert.Fail($"The built pgha ({(PgHaAssembly.Length == 0 ? "path not recorded at build time" : PgHaAssembly)}) is missing. Build the solution (dotnet test PgHa.sln builds src/PgHa.Host first) or set PGHA_HOST_ASSEMBLY to a pgha.dll.");
    }

    /// <summary>Fails, or ignores the test when PGHA_ALLOW_MISSING_SERVERS=1.</summary>
    public static void Missing(string message)
    {
        if (AllowMissingServers) Assert.Ignore(message + " (ignored: PGHA_ALLOW_MISSING_SERVERS=1)");
        Assert.Fail(message + " Set PGHA_ALLOW_MISSING_SERVERS=1 to skip instead.");
    }

    /// <summary><paramref name="count"/> distinct loopback ports nobody listens on right now (all held open while choosing).</summary>
    public static int[] FreePorts(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var l in listeners) l.Stop();
        }
    }
}

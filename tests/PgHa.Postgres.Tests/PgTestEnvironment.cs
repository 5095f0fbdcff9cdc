using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace PgHa.Postgres.Tests;

/// <summary>Where the PostgreSQL 15 binaries are, and whether these tests can run here.</summary>
internal static class PgTestEnvironment
{
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";

    /// <summary>Fails (or ignores, with PGHA_ALLOW_MISSING_SERVERS=1) when PostgreSQL cannot run here.</summary>
    public static void RequireServer()
    {
        var allowMissing = Environment.GetEnvironmentVariable("PGHA_ALLOW_MISSING_SERVERS") == "1";
        if (!File.Exists(Path.Combine(BinDirectory, "initdb")))
        {
            const string message = "PostgreSQL 15 is not installed (" + BinDirectory + "/initdb is missing). Run these tests through scripts/test, which installs postgresql-15 and runs them as an unprivileged user.";
            if (allowMissing) Assert.Ignore(message);
            Assert.Fail(message);
        }
        if (Environment.UserName == "root")
        {
            const string message = "PostgreSQL refuses to run as root. Run these tests through scripts/test (it runs the suite as the unprivileged user pgha-test).";
            if (allowMissing) Assert.Ignore(message);
            Assert.Fail(message);
        }
    }

    /// <summary>A loopback port nobody listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs a command and returns its stdout; fails the test when it fails.</summary>
    public static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0) Assert.Fail($"{file} {string.Join(' ', args)} failed: {stderr.Result}");
        return stdout.Result;
    }
}

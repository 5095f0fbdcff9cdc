using System.Diagnostics;

namespace PgHa.Embedding.Tests.Deployment;

/// <summary><c>deploy/pgha.service</c> is a unit systemd accepts, with the settings the write fence depends on.</summary>
[TestFixture]
public sealed class UnitFileTests
{
    private static string UnitPath => Path.Combine(Repository.Root, "deploy", "pgha.service");

    [Test]
    public void TheUnitKeepsTheFencerAliveAndRunsTheAgentAsPostgres()
    {
        var lines = File.ReadAllLines(UnitPath).Select(l => l.Trim()).ToList();
        Assert.That(lines, Has.Member("KillMode=process"), "the detached write fencer must outlive the agent (src/PgHa.Core/Postgres/README.md)");
        Assert.That(lines, Has.Member("User=postgres"));
        Assert.That(lines, Has.Member("ExecStart=/usr/local/bin/pgha run /etc/pgha/pgha.yml"));
        Assert.That(lines, Has.Member("ExecReload=/bin/kill -HUP $MAINPID"));
    }

    [Test]
    public async Task SystemdAnalyzeVerifyAcceptsTheUnitWithoutAnyComplaint()
    {
        var analyze = new[] { "/usr/bin/systemd-analyze", "/bin/systemd-analyze" }.FirstOrDefault(File.Exists);
        if (analyze is null) Assert.Ignore("systemd-analyze is not installed (scripts/test installs the systemd package when run as root)");

        // verify also checks that ExecStart's program exists; point it at a stand-in, leave every other line as shipped.
        var work = Directory.CreateTempSubdirectory("pgha-unit-").FullName;
        try
        {
            var pgha = Path.Combine(work, "pgha");
            await File.WriteAllTextAsync(pgha, "#!/bin/sh\n");
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(pgha, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
            var unit = Path.Combine(work, "pgha.service");
            await File.WriteAllTextAsync(unit, (await File.ReadAllTextAsync(UnitPath)).Replace("/usr/local/bin/pgha", pgha, StringComparison.Ordinal));

            var start = new ProcessStartInfo(analyze!, ["verify", unit]) { RedirectStandardError = true, RedirectStandardOutput = true };
            start.Environment["SYSTEMD_LOG_LEVEL"] = "warning";
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            var output = (await stdout + await stderr).Trim();
            // systemd-analyze exits 0 even for directives it ignores ("Failed to parse ..., ignoring"): any output fails.
            Assert.That((process.ExitCode, output), Is.EqualTo((0, "")));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}

using PgHa.Cluster;
using Member = PgHa.Cluster.Member;

namespace PgHa.Dcs.Etcd.Tests.Integration;

/// <summary>
/// etcd killed and started again on the same data: while it is down every operation throws
/// <see cref="DcsUnavailableException"/> and nothing else, a pending wait neither fails nor ends early, and once it is
/// back the same connection works again by itself — lease, lock, member and watch included.
/// </summary>
[TestFixture, Category("Integration")]
public sealed class EtcdRestartTests
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);

    private EtcdServer _server = null!;

    [OneTimeSetUp]
    public async Task StartOwnServerAsync() => _server = await EtcdServer.StartAsync("pgha-restart");

    [OneTimeTearDown]
    public async Task StopOwnServerAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    [Test]
    public async Task AdapterRecoversOnItsOwnAfterEtcdRestarts()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1), TimeProvider.System);
        var ct = deadline.Token;
        var scope = EtcdTestEnvironment.NewScope();
        await using var leader = new EtcdDcs(EtcdTestEnvironment.Options(scope, "node1", _server, RequestTimeout), TimeProvider.System);
        await using var replica = new EtcdDcs(EtcdTestEnvironment.Options(scope, "node2", _server, RequestTimeout), TimeProvider.System);
        var member = new Member("node1") { State = "running", Role = MemberRole.Primary, ApiUrl = "http://127.0.0.1:8008/patroni" };
        await leader.TouchMemberAsync(member, Ttl, ct);
        var held = await leader.TryAcquireLeaderLockAsync(Ttl, ct);
        Assert.That(held, Is.Not.Null);
        await replica.LoadClusterAsync(ct);
        var wait = replica.WaitForChangeAsync(TimeSpan.FromSeconds(45), ct);

        await _server.KillAsync();

        (string Name, Func<Task> Call)[] whileDown =
        [
            (nameof(IDcs.LoadClusterAsync), () => leader.LoadClusterAsync(ct)),
            (nameof(IDcs.TryRenewLeaderLockAsync), () => leader.TryRenewLeaderLockAsync(held!, Ttl, ct)),
            (nameof(IDcs.TouchMemberAsync), () => leader.TouchMemberAsync(member, Ttl, ct)),
            (nameof(IDcs.TryWriteAsync), () => leader.TryWriteAsync(ClusterKey.Status, """{"optime":1}""", WriteCondition.Always, ct)),
        ];
        using (Assert.EnterMultipleScope())
        {
            foreach (var (name, call) in whileDown)
            {
                var started = TimeProvider.System.GetTimestamp();
                var error = await CaptureAsync(call);
                Assert.That(error, Is.TypeOf<DcsUnavailableException>(), $"{name} while etcd is down");
                Assert.That(TimeProvider.System.GetElapsedTime(started), Is.LessThanOrEqualTo(RequestTimeout + Grace), name);
            }
            Assert.That(wait.IsCompleted, Is.False, "an outage neither fails nor ends a pending wait");
        }

        await _server.StartAgainAsync();

        // The first calls may still fail while the channel reconnects; only DcsUnavailableException is allowed meanwhile.
        LeaderLock? renewed = null;
        var recovering = TimeProvider.System.GetTimestamp();
        while (renewed is null)
        {
            Assert.That(TimeProvider.System.GetElapsedTime(recovering), Is.LessThan(TimeSpan.FromSeconds(20)), "the adapter did not recover");
            try
            {
                renewed = await leader.TryRenewLeaderLockAsync(held!, Ttl, ct);
                Assert.That(renewed, Is.Not.Null, "etcd keeps leases across a restart, so the lock renews");
            }
            catch (DcsUnavailableException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System, ct);
            }
        }
        await leader.TouchMemberAsync(member with { State = "running again" }, Ttl, ct);
        Assert.That(await leader.TryWriteAsync(ClusterKey.Config, """{"ttl":30}""", WriteCondition.Always, ct), Is.True);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await wait.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System, ct), Is.True, "the pending wait re-watched and saw the config change");
            var cluster = await replica.LoadClusterAsync(ct);
            Assert.That(cluster.Leader?.Holder, Is.EqualTo("node1"));
            Assert.That(cluster.GetMember("node1")?.State, Is.EqualTo("running again"));
            Assert.That(cluster.GetMember("node1")?.Session, Is.EqualTo(renewed.Session));
        }
        await leader.DeleteClusterAsync(ct);
    }

    private static async Task<Exception?> CaptureAsync(Func<Task> call)
    {
        try
        {
            await call();
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }
}

using System.Text;
using PgHa.Dcs.Consul.Client;

namespace PgHa.Dcs.Consul.Tests;

/// <summary>The HTTP client against the test server.</summary>
[TestFixture]
public sealed class ConsulClientTests
{
    private static ConsulClient Client(Action<ConsulClientOptions>? configure = null)
    {
        var options = new ConsulClientOptions { Address = ConsulTestEnvironment.Shared.Address };
        configure?.Invoke(options);
        return new ConsulClient(options);
    }

    private static string Key() => "client-test/" + Guid.NewGuid().ToString("N");

    [Test]
    public async Task SessionLifecycle()
    {
        using var client = Client();
        var id = await client.CreateSessionAsync(new ConsulSessionRequest("n", TimeSpan.FromSeconds(2.5), TimeSpan.FromMilliseconds(1), ConsulSessionBehavior.Delete, []), CancellationToken.None);
        var session = ConsulTestEnvironment.Shared.Store.GetSession(id)!;
        Assert.That((session.Ttl, session.Behavior, session.LockDelay, session.NodeChecks.Count), Is.EqualTo(("2.5s", "delete", TimeSpan.FromMilliseconds(1), 0)));
        Assert.That(await client.RenewSessionAsync(id, CancellationToken.None), Is.True);
        await client.DestroySessionAsync(id, CancellationToken.None);
        Assert.That(await client.RenewSessionAsync(id, CancellationToken.None), Is.False, "404: the session is gone");
    }

    [Test]
    public async Task RefusedSessionTtlIsRecognised()
    {
        using var client = Client();
        var error = Assert.ThrowsAsync<ConsulApiException>(() => client.CreateSessionAsync(
            new ConsulSessionRequest("n", TimeSpan.FromSeconds(0.5), TimeSpan.Zero, ConsulSessionBehavior.Delete, []), CancellationToken.None));
        Assert.That(error!.IsInvalidSessionTtl, Is.True);
        await Task.CompletedTask;
    }

    [Test]
    public async Task KvRoundTripWithAcquireCasAndDelete()
    {
        using var client = Client();
        var key = Key();
        var session = await client.CreateSessionAsync(new ConsulSessionRequest("n", TimeSpan.FromSeconds(10), TimeSpan.Zero, ConsulSessionBehavior.Release, []), CancellationToken.None);
        Assert.That(await client.PutAsync(key, Encoding.UTF8.GetBytes("Zürich ☃"), null, session, null, CancellationToken.None), Is.True);
        var read = await client.GetAsync(key, ConsulConsistency.Consistent, CancellationToken.None);
        Assert.That(read.Value, Is.Not.Null);
        Assert.That((Encoding.UTF8.GetString(read.Value!.Value), read.Value.Session, read.Value.LockIndex, read.Index), Is.EqualTo(("Zürich ☃", session, 1UL, read.Value.ModifyIndex)));
        Assert.That(await client.PutAsync(key, [1], cas: read.Value.ModifyIndex + 1, null, null, CancellationToken.None), Is.False);
        Assert.That(await client.DeleteAsync(key, read.Value.ModifyIndex, recurse: false, CancellationToken.None), Is.True);
        Assert.That((await client.GetAsync(key, null, CancellationToken.None)).Value, Is.Null);
    }

    [Test]
    public void AcquireWithAGoneSessionIsRecognisedAsInvalidSession()
    {
        using var client = Client();
        var error = Assert.ThrowsAsync<ConsulApiException>(() => client.PutAsync(Key(), [1], null, Guid.NewGuid().ToString(), null, CancellationToken.None));
        Assert.That(error!.IsInvalidSession, Is.True);
    }

    [Test]
    public async Task ListBlocksOnTheIndexUntilAChange()
    {
        using var client = Client();
        var prefix = Key() + "/";
        await client.PutAsync(prefix + "a", [1], null, null, null, CancellationToken.None);
        var first = await client.ListAsync(prefix, null, 0, null, CancellationToken.None);
        var blocked = client.ListAsync(prefix, null, first.Index, TimeSpan.FromSeconds(30), CancellationToken.None);
        await Task.Delay(TimeSpan.FromMilliseconds(300), TimeProvider.System);
        Assert.That(blocked.IsCompleted, Is.False);
        await client.PutAsync(prefix + "b", [2], null, null, null, CancellationToken.None);
        var second = await blocked.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System);
        Assert.That(second.Value.Select(p => p.Key), Is.EqualTo(new[] { prefix + "a", prefix + "b" }));
        Assert.That(second.Index, Is.GreaterThan(first.Index));
    }

    [TestCase(10UL, 12UL, 12UL)]
    [TestCase(10UL, 10UL, 10UL)]
    [TestCase(10UL, 3UL, 0UL)]
    [TestCase(0UL, 0UL, 1UL)]
    public void NextBlockingIndexResetsWhenTheIndexGoesBackwardsAndNeverBlocksOnZero(ulong previous, ulong answered, ulong next) =>
        Assert.That(ConsulClient.NextBlockingIndex(previous, answered), Is.EqualTo(next));

    [Test]
    public async Task TokenAndDatacenterAreSent()
    {
        var options = ConsulTestEnvironment.ServerOptions();
        options.RequiredToken = "t0ken";
        options.Datacenter = "east";
        await using var server = await ConsulTestServer.ConsulTestServer.StartAsync(options);
        using var without = new ConsulClient(new ConsulClientOptions { Address = server.Address });
        Assert.That(Assert.ThrowsAsync<ConsulApiException>(() => without.GetAsync("k", null, CancellationToken.None))!.StatusCode, Is.EqualTo(403));
        using var wrongDc = new ConsulClient(new ConsulClientOptions { Address = server.Address, Token = "t0ken", Datacenter = "west" });
        Assert.That(Assert.ThrowsAsync<ConsulApiException>(() => wrongDc.GetAsync("k", null, CancellationToken.None))!.Body, Is.EqualTo("No path to datacenter"));
        using var client = new ConsulClient(new ConsulClientOptions { Address = server.Address, Token = "t0ken", Datacenter = "east" });
        Assert.That((await client.GetAsync("k", null, CancellationToken.None)).Value, Is.Null);
    }

    [Test]
    public void OptionsNameEveryProblem()
    {
        var problems = new ConsulClientOptions { Address = new Uri("ftp://x/"), CaCert = "/nonexistent.pem" }.Validate();
        Assert.That(problems, Has.Some.StartsWith("Address:").And.Some.StartsWith("CaCert:"));
        Assert.That(() => new ConsulClient(new ConsulClientOptions()), Throws.ArgumentException.With.Message.Contains("Address"));
    }
}

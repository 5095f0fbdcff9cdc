using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using PgHa.Host.Daemon;

namespace PgHa.Host.Tests.Daemon;

public class HeapTrimmerTests
{
    [TestCase(0, 0, false)]
    [TestCase(7 << 20, 0, true)]
    [TestCase((3 << 20) + (1 << 20) - 1, 3 << 20, false)]
    [TestCase((3 << 20) + (1 << 20), 3 << 20, true)]
    [TestCase(2 << 20, 3 << 20, false)]
    public void TrimsOnceTheHeapGrewByTheThreshold(long committed, long afterLastTrim, bool expected) =>
        Assert.That(HeapTrimmer.ShouldTrim(committed, afterLastTrim), Is.EqualTo(expected));

    [Test]
    public void CollectsWhenTheCommittedHeapGrewAndNotOtherwise()
    {
        long committed = 7 << 20;
        var collections = 0;
        var trimmer = new HeapTrimmer(new FakeTimeProvider(), NullLogger.Instance, () => committed, () => { collections++; committed = 3 << 20; });

        Assert.That(trimmer.CheckOnce(), Is.True, "the start-up heap is trimmed at the first check");
        committed = (3 << 20) + (512 << 10);
        Assert.That(trimmer.CheckOnce(), Is.False, "half a MiB of growth since the trim is not worth a full collection");
        committed = 5 << 20;
        Assert.That(trimmer.CheckOnce(), Is.True);
        Assert.That(collections, Is.EqualTo(2));
    }

    [Test]
    public async Task StopsWhenCancelled()
    {
        var trimmer = new HeapTrimmer(new FakeTimeProvider(), NullLogger.Instance, () => 0, () => { });
        using var stop = new CancellationTokenSource();
        var run = trimmer.RunAsync(stop.Token);
        await stop.CancelAsync();
        Assert.That(async () => await run, Throws.Nothing);
    }
}

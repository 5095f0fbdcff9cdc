using System.Globalization;
using System.Text;

namespace PgHa.Chaos.Tests;

/// <summary>The run's timeline: faults injected and healed, what the cluster looked like, checker findings — seconds from the start.</summary>
internal sealed class EventLog
{
    private readonly List<(long At, string Text)> _events = [];

    public EventLog(long origin) => Origin = origin;

    public long Origin { get; }

    public double Seconds(long at) => TimeProvider.System.GetElapsedTime(Origin, at).TotalSeconds;

    public void Add(string text) => Add(TimeProvider.System.GetTimestamp(), text);

    public void Add(long at, string text)
    {
        lock (_events) _events.Add((at, text));
        TestContext.Progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[chaos {Seconds(at),8:0.000}] {text}"));
    }

    /// <summary>Every event between two timestamps (all when not given), one per line.</summary>
    public string Render(long from = long.MinValue, long to = long.MaxValue)
    {
        var sb = new StringBuilder();
        lock (_events)
        {
            foreach (var (at, text) in _events.Where(e => e.At >= from && e.At <= to).OrderBy(e => e.At))
                sb.Append(CultureInfo.InvariantCulture, $"{Seconds(at),9:0.000}  {text}\n");
        }
        return sb.ToString();
    }
}

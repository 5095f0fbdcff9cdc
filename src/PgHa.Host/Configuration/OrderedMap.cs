using System.Collections;
using System.Collections.Immutable;

namespace PgHa.Host.Configuration;

/// <summary>An immutable string-keyed map that keeps the order the keys were written in the configuration.</summary>
public sealed class OrderedMap<TValue> : IReadOnlyDictionary<string, TValue>, IEquatable<OrderedMap<TValue>>
{
    private readonly ImmutableArray<KeyValuePair<string, TValue>> _entries;
    private readonly Dictionary<string, TValue> _index;

    /// <summary>The empty map.</summary>
    public static OrderedMap<TValue> Empty { get; } = new([]);

    /// <summary>Builds a map; a repeated key keeps its first position and its last value.</summary>
    public OrderedMap(IEnumerable<KeyValuePair<string, TValue>> entries)
    {
        var list = new List<KeyValuePair<string, TValue>>();
        _index = new Dictionary<string, TValue>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            if (_index.ContainsKey(e.Key)) list[list.FindIndex(x => x.Key == e.Key)] = e;
            else list.Add(e);
            _index[e.Key] = e.Value;
        }
        _entries = [.. list];
    }

    /// <summary>The entries in configuration order.</summary>
    public ImmutableArray<KeyValuePair<string, TValue>> Entries => _entries;

    /// <inheritdoc />
    public TValue this[string key] => _index[key];

    /// <inheritdoc />
    public IEnumerable<string> Keys => _entries.Select(e => e.Key);

    /// <inheritdoc />
    public IEnumerable<TValue> Values => _entries.Select(e => e.Value);

    /// <inheritdoc />
    public int Count => _entries.Length;

    /// <inheritdoc />
    public bool ContainsKey(string key) => _index.ContainsKey(key);

    /// <inheritdoc />
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out TValue value) => _index.TryGetValue(key, out value);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, TValue>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, TValue>>)_entries).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public bool Equals(OrderedMap<TValue>? other) => other is not null && _entries.SequenceEqual(other._entries);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is OrderedMap<TValue> m && Equals(m);

    /// <inheritdoc />
    public override int GetHashCode() => _entries.Length;

    /// <summary><c>{key=value, …}</c> (values by their own <c>ToString</c>, so secrets stay hidden).</summary>
    public override string ToString() => "{" + string.Join(", ", _entries.Select(e => $"{e.Key}={e.Value}")) + "}";
}

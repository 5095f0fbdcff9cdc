using System.Buffers.Binary;
using System.Text;

namespace PgHa.Dcs.ZooKeeper.Client;

/// <summary>Reads jute's binary encoding (see <see cref="JuteWriter"/>) from one received packet; a short packet throws <see cref="ZooKeeperProtocolException"/>.</summary>
internal sealed class JuteReader
{
    // jute's own default limit (jute.maxbuffer) is about 1 MB; nothing PgHa reads comes close.
    private const int MaxItemLength = 16 * 1024 * 1024;

    private readonly byte[] _packet;
    private int _position;

    public JuteReader(byte[] packet) => _packet = packet;

    public int Remaining => _packet.Length - _position;

    public int ReadInt() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    public long ReadLong() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public bool ReadBool() => Take(1)[0] != 0;

    public byte[]? ReadBuffer()
    {
        var length = ReadInt();
        if (length < 0) return null;
        if (length > MaxItemLength) throw new ZooKeeperProtocolException($"a buffer of {length} bytes exceeds the {MaxItemLength}-byte limit");
        return Take(length).ToArray();
    }

    public string? ReadString()
    {
        var length = ReadInt();
        if (length < 0) return null;
        if (length > MaxItemLength) throw new ZooKeeperProtocolException($"a string of {length} bytes exceeds the {MaxItemLength}-byte limit");
        return Encoding.UTF8.GetString(Take(length));
    }

    public List<string> ReadStrings()
    {
        var count = ReadInt();
        if (count < 0) return [];
        if (count > Remaining / 4) throw new ZooKeeperProtocolException($"a vector of {count} strings cannot fit in the {Remaining} bytes left");
        var result = new List<string>(count);
        for (var i = 0; i < count; i++) result.Add(ReadString() ?? "");
        return result;
    }

    public ZooKeeperStat ReadStat() => new(
        Czxid: ReadLong(), Mzxid: ReadLong(), Ctime: ReadLong(), Mtime: ReadLong(),
        Version: ReadInt(), Cversion: ReadInt(), Aversion: ReadInt(),
        EphemeralOwner: ReadLong(), DataLength: ReadInt(), NumChildren: ReadInt(), Pzxid: ReadLong());

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > Remaining)
            throw new ZooKeeperProtocolException($"the packet ended after {_packet.Length} bytes, {count - Remaining} bytes short of the field being read");
        var span = _packet.AsSpan(_position, count);
        _position += count;
        return span;
    }
}

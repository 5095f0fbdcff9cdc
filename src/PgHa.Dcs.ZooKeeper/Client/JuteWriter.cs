using System.Buffers.Binary;
using System.Text;

namespace PgHa.Dcs.ZooKeeper.Client;

/// <summary>
/// Writes one ZooKeeper packet in jute's binary encoding: big-endian integers, <c>buffer</c>/<c>ustring</c> as an
/// int32 length (−1 for null) followed by the bytes, <c>bool</c> as one byte, <c>vector</c> as an int32 count followed
/// by the items. <see cref="ToFrame"/> prefixes the packet with its int32 length, as it travels on the socket.
/// </summary>
internal sealed class JuteWriter
{
    private byte[] _buffer = new byte[256];
    private int _length = 4; // room for the frame length

    public void WriteInt(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(Reserve(4), value);
    }

    public void WriteLong(long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(Reserve(8), value);
    }

    public void WriteBool(bool value) => Reserve(1)[0] = value ? (byte)1 : (byte)0;

    public void WriteBuffer(ReadOnlySpan<byte> value)
    {
        WriteInt(value.Length);
        value.CopyTo(Reserve(value.Length));
    }

    public void WriteNullBuffer() => WriteInt(-1);

    public void WriteString(string? value)
    {
        if (value is null)
        {
            WriteInt(-1);
            return;
        }
        var count = Encoding.UTF8.GetByteCount(value);
        WriteInt(count);
        Encoding.UTF8.GetBytes(value, Reserve(count));
    }

    public void WriteStrings(IReadOnlyCollection<string> values)
    {
        WriteInt(values.Count);
        foreach (var value in values) WriteString(value);
    }

    /// <summary>The packet with its length prefix.</summary>
    public byte[] ToFrame()
    {
        BinaryPrimitives.WriteInt32BigEndian(_buffer, _length - 4);
        return _buffer.AsSpan(0, _length).ToArray();
    }

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}

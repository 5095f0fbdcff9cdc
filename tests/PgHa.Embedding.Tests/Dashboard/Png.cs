using System.Buffers.Binary;
using System.IO.Compression;

namespace PgHa.Embedding.Tests.Dashboard;

/// <summary>Just enough of PNG to read a browser screenshot's pixels: 8-bit RGB or RGBA, not interlaced.</summary>
internal sealed class Png
{
    private readonly byte[] _pixels;
    private readonly int _bytesPerPixel;

    private Png(int width, int height, int bytesPerPixel, byte[] pixels) => (Width, Height, _bytesPerPixel, _pixels) = (width, height, bytesPerPixel, pixels);

    public int Width { get; }
    public int Height { get; }

    public (byte R, byte G, byte B) this[int x, int y]
    {
        get
        {
            var i = (y * Width + x) * _bytesPerPixel;
            return (_pixels[i], _pixels[i + 1], _pixels[i + 2]);
        }
    }

    /// <summary>How many pixels have exactly this colour.</summary>
    public int Count((byte R, byte G, byte B) colour)
    {
        var n = 0;
        for (var y = 0; y < Height; y++)
            for (var x = 0; x < Width; x++)
                if (this[x, y] == colour) n++;
        return n;
    }

    public static Png Read(byte[] file)
    {
        ReadOnlySpan<byte> signature = [137, 80, 78, 71, 13, 10, 26, 10];
        if (!file.AsSpan(0, 8).SequenceEqual(signature)) throw new InvalidDataException("not a PNG file");
        int width = 0, height = 0, bytesPerPixel = 0;
        using var idat = new MemoryStream();
        for (var at = 8; at < file.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(at));
            var type = System.Text.Encoding.ASCII.GetString(file, at + 4, 4);
            var data = file.AsSpan(at + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                if (data[8] != 8 || data[12] != 0) throw new InvalidDataException("only 8-bit, non-interlaced PNGs are read here");
                bytesPerPixel = data[9] switch { 2 => 3, 6 => 4, _ => throw new InvalidDataException($"colour type {data[9]} is not read here") };
            }
            else if (type == "IDAT") idat.Write(data);
            at += 12 + length;
        }
        idat.Position = 0;
        using var inflated = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionMode.Decompress)) z.CopyTo(inflated);
        var raw = inflated.ToArray();
        var stride = width * bytesPerPixel;
        var pixels = new byte[stride * height];
        for (var y = 0; y < height; y++)
        {
            var filter = raw[y * (stride + 1)];
            var source = raw.AsSpan(y * (stride + 1) + 1, stride);
            var row = pixels.AsSpan(y * stride, stride);
            var above = y > 0 ? pixels.AsSpan((y - 1) * stride, stride) : new byte[stride];
            for (var i = 0; i < stride; i++)
            {
                int a = i >= bytesPerPixel ? row[i - bytesPerPixel] : 0, b = above[i], c = i >= bytesPerPixel ? above[i - bytesPerPixel] : 0;
                row[i] = (byte)(source[i] + filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"unknown PNG filter {filter}"),
                });
            }
        }
        return new Png(width, height, bytesPerPixel, pixels);
    }

    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}

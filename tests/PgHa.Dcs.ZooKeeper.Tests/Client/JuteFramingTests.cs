using System.Buffers.Binary;
using PgHa.Dcs.ZooKeeper.Client;

namespace PgHa.Dcs.ZooKeeper.Tests.Client;

/// <summary>jute's binary encoding and the length-prefixed frame, byte for byte.</summary>
public sealed class JuteFramingTests
{
    [Test]
    public void AFrameIsItsBigEndianLengthFollowedByThePacket()
    {
        var writer = new JuteWriter();
        writer.WriteInt(7);
        writer.WriteInt((int)ZooKeeperOpCode.GetData);
        writer.WriteString("/a");
        writer.WriteBool(true);

        var frame = writer.ToFrame();

        Assert.That(frame, Is.EqualTo(new byte[]
        {
            0, 0, 0, 15,           // length of what follows
            0, 0, 0, 7,            // xid
            0, 0, 0, 4,            // getData
            0, 0, 0, 2, 0x2f, 0x61, // "/a"
            1,                     // watch
        }));
    }

    [Test]
    public void NullBuffersAndStringsAreLengthMinusOne()
    {
        var writer = new JuteWriter();
        writer.WriteString(null);
        writer.WriteNullBuffer();

        Assert.That(writer.ToFrame()[4..], Is.EqualTo(new byte[] { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }));
        var reader = new JuteReader(writer.ToFrame()[4..]);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(reader.ReadString(), Is.Null);
            Assert.That(reader.ReadBuffer(), Is.Null);
        }
    }

    [Test]
    public void EveryFieldTypeRoundTrips()
    {
        var writer = new JuteWriter();
        writer.WriteLong(-0x0123456789abcdefL);
        writer.WriteInt(int.MinValue);
        writer.WriteBuffer([1, 2, 3]);
        writer.WriteString("Zürich ☃");
        writer.WriteStrings(["a", "", "members"]);
        foreach (var value in new long[] { 1, 2, 3, 4 }) writer.WriteLong(value);
        foreach (var value in new[] { 5, 6, 7 }) writer.WriteInt(value);
        writer.WriteLong(0x100000082f680002);
        writer.WriteInt(8);
        writer.WriteInt(9);
        writer.WriteLong(10);

        var reader = new JuteReader(writer.ToFrame()[4..]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(reader.ReadLong(), Is.EqualTo(-0x0123456789abcdefL));
            Assert.That(reader.ReadInt(), Is.EqualTo(int.MinValue));
            Assert.That(reader.ReadBuffer(), Is.EqualTo(new byte[] { 1, 2, 3 }));
            Assert.That(reader.ReadString(), Is.EqualTo("Zürich ☃"));
            Assert.That(reader.ReadStrings(), Is.EqualTo(new[] { "a", "", "members" }));
            Assert.That(reader.ReadStat(), Is.EqualTo(new ZooKeeperStat(1, 2, 3, 4, 5, 6, 7, 0x100000082f680002, 8, 9, 10)));
            Assert.That(reader.Remaining, Is.Zero);
        }
    }

    [Test]
    public void StatIs68Bytes()
    {
        var packet = new byte[68];
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(32), 42); // version follows the four longs
        var reader = new JuteReader(packet);

        Assert.That(reader.ReadStat().Version, Is.EqualTo(42));
        Assert.That(reader.Remaining, Is.Zero);
    }

    [Test]
    public void AShortPacketIsAProtocolErrorNamingTheShortfall()
    {
        var reader = new JuteReader([0, 0, 0, 9, 1, 2]);

        var error = Assert.Throws<ZooKeeperProtocolException>(() => reader.ReadBuffer());
        Assert.That(error!.Message, Does.Contain("7 bytes short"));
    }

    [Test]
    public void AnAbsurdVectorCountIsAProtocolError()
    {
        var reader = new JuteReader([0x7f, 0xff, 0xff, 0xff]);

        Assert.Throws<ZooKeeperProtocolException>(() => reader.ReadStrings());
    }

    [TestCase((int)ZooKeeperErrorCode.NoNode, -101, "the znode does not exist")]
    [TestCase((int)ZooKeeperErrorCode.BadVersion, -103, "version")]
    [TestCase((int)ZooKeeperErrorCode.NodeExists, -110, "already exists")]
    [TestCase((int)ZooKeeperErrorCode.NotEmpty, -111, "children")]
    [TestCase((int)ZooKeeperErrorCode.SessionExpired, -112, "expired")]
    [TestCase((int)ZooKeeperErrorCode.NoAuth, -102, "not authorized")]
    [TestCase((int)ZooKeeperErrorCode.AuthFailed, -115, "authentication failed")]
    [TestCase((int)ZooKeeperErrorCode.ConnectionLoss, -4, "connection")]
    public void ErrorCodesHaveTheServersValuesAndClearMessages(int code, int wire, string meaning)
    {
        var error = new ZooKeeperException((ZooKeeperErrorCode)wire, "/service/x/leader");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(code, Is.EqualTo(wire));
            Assert.That((int)error.Code, Is.EqualTo(code));
            Assert.That(error.Message, Does.Contain(((ZooKeeperErrorCode)code).ToString()).And.Contain(meaning).And.Contain("/service/x/leader"));
        }
    }

    [Test]
    public void EveryKnownErrorCodeHasAMeaning()
    {
        foreach (var code in Enum.GetValues<ZooKeeperErrorCode>())
            Assert.That(ZooKeeperException.Meaning(code), Is.Not.EqualTo("unknown error code"), code.ToString());
    }
}

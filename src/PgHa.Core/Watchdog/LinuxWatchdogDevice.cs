using System.Runtime.InteropServices;
using System.Text;

namespace PgHa.Watchdog;

/// <summary>
/// A Linux watchdog device (<c>/dev/watchdog</c>, softdog or a hardware driver) through the kernel's watchdog API: open,
/// the <c>WDIOC_*</c> ioctls, a one-byte write as keepalive, and a magic close (<c>V</c>) to stop it.
/// </summary>
/// <remarks>
/// The descriptor is opened with <c>O_CLOEXEC</c>: PostgreSQL and the fencer, started by the agent, must not inherit it,
/// or a dead agent's watchdog would stay "open" in a child and the reset would depend on that child. If the agent dies
/// (kill -9, crash) the kernel closes the descriptor without the magic character, so the timer keeps running: a restarted
/// agent may open the device again and keep it alive, otherwise the machine is reset when it fires.
/// The ioctl numbers are those of the generic ioctl encoding (x86-64, arm64 and the other asm-generic architectures).
/// </remarks>
public sealed partial class LinuxWatchdogDevice : IWatchdogDevice
{
    private const int O_WRONLY = 1;
    private const int O_CLOEXEC = 0x80000;
    private const int W_OK = 2;
    private const int AT_FDCWD = -100;
    private const uint STATX_TYPE = 1;
    private const int StatxModeOffset = 28;
    private const int StatxSize = 256;
    private const int S_IFMT = 0xF000;
    private const int S_IFCHR = 0x2000;
    private const int WatchdogInfoSize = 40; // u32 options, u32 firmware_version, u8 identity[32]
    // _IOR('W', 0, struct watchdog_info), _IOWR('W', 6, int), _IOR('W', 7, int): direction << 30 | size << 16 | 'W' << 8 | nr.
    private const uint WDIOC_GETSUPPORT = 0x80285700;
    private const uint WDIOC_SETTIMEOUT = 0xC0045706;
    private const uint WDIOC_GETTIMEOUT = 0x80045707;
    private const uint WDIOF_SETTIMEOUT = 0x0080;
    private const uint WDIOF_MAGICCLOSE = 0x0100;
    private const uint WDIOF_KEEPALIVEPING = 0x8000;

    private int _fd = -1;
    private string? _identity;

    /// <summary>Creates the device for <paramref name="path"/> (not opened yet).</summary>
    public LinuxWatchdogDevice(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
    }

    /// <summary>The device path.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public bool IsOpen => _fd >= 0;

    /// <inheritdoc />
    public string Describe() => _identity is null ? Path : $"{Path} ({_identity})";

    /// <summary>
    /// A watchdog is a character device; a regular file or a missing path can never answer the watchdog ioctls, so it
    /// is not usable (and this is known without opening anything). The path must also be writable for this user.
    /// </summary>
    public bool LooksUsable()
    {
        if (!OperatingSystem.IsLinux()) return false;
        Span<byte> statx = stackalloc byte[StatxSize];
        if (Native.Statx(AT_FDCWD, Path, 0, STATX_TYPE, ref MemoryMarshal.GetReference(statx)) != 0) return false;
        var mode = BitConverter.ToUInt16(statx.Slice(StatxModeOffset, 2));
        return (mode & S_IFMT) == S_IFCHR && Native.Access(Path, W_OK) == 0;
    }

    /// <inheritdoc />
    public void Open()
    {
        if (IsOpen) return;
        if (!OperatingSystem.IsLinux()) throw new WatchdogDeviceException($"{Path}: the Linux watchdog API needs Linux");
        var fd = Native.Open(Path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) throw Failure("open");
        _fd = fd;
    }

    /// <inheritdoc />
    public WatchdogSupport GetSupport()
    {
        var fd = RequireOpen();
        Span<byte> info = stackalloc byte[WatchdogInfoSize];
        info.Clear();
        if (Native.Ioctl(fd, WDIOC_GETSUPPORT, ref MemoryMarshal.GetReference(info)) != 0) throw Failure("ioctl WDIOC_GETSUPPORT");
        var options = BitConverter.ToUInt32(info[..4]);
        var name = info.Slice(8, 32);
        var end = name.IndexOf((byte)0);
        _identity = Encoding.ASCII.GetString(end < 0 ? name : name[..end]).Trim();
        return new WatchdogSupport(_identity, (options & WDIOF_SETTIMEOUT) != 0, (options & WDIOF_MAGICCLOSE) != 0, (options & WDIOF_KEEPALIVEPING) != 0);
    }

    /// <inheritdoc />
    public int SetTimeout(int seconds)
    {
        var fd = RequireOpen();
        var value = seconds;
        if (Native.Ioctl(fd, WDIOC_SETTIMEOUT, ref value) != 0) throw Failure($"ioctl WDIOC_SETTIMEOUT {seconds}");
        return value;
    }

    /// <inheritdoc />
    public int GetTimeout()
    {
        var fd = RequireOpen();
        var value = 0;
        if (Native.Ioctl(fd, WDIOC_GETTIMEOUT, ref value) != 0) throw Failure("ioctl WDIOC_GETTIMEOUT");
        return value;
    }

    /// <inheritdoc />
    public void Keepalive() => Write((byte)'1', "keepalive write");

    /// <inheritdoc />
    public void Disarm()
    {
        if (!IsOpen) return;
        try
        {
            Write((byte)'V', "magic close write");
        }
        finally
        {
            var fd = _fd;
            _fd = -1;
            if (Native.Close(fd) != 0) throw Failure("close");
        }
    }

    /// <summary>Closes with a magic close when still open.</summary>
    public void Dispose()
    {
        try { Disarm(); }
        catch (WatchdogDeviceException) { }
    }

    private void Write(byte b, string what)
    {
        var fd = RequireOpen();
        if (Native.Write(fd, ref b, 1) != 1) throw Failure(what);
    }

    private int RequireOpen() => _fd >= 0 ? _fd : throw new WatchdogDeviceException($"{Path}: the device is not open");

    private WatchdogDeviceException Failure(string call)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new WatchdogDeviceException($"{Path}: {call} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
        internal static partial int Ioctl(int fd, nuint request, ref int argument);

        [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
        internal static partial int Ioctl(int fd, nuint request, ref byte argument);

        [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
        internal static partial nint Write(int fd, ref byte buffer, nuint count);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        internal static partial int Close(int fd);

        [LibraryImport("libc", EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int Access(string path, int mode);

        [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        internal static partial int Statx(int dirFd, string path, int flags, uint mask, ref byte buffer);
    }
}

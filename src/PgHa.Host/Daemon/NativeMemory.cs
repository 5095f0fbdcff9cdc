using System.Runtime.InteropServices;

namespace PgHa.Host.Daemon;

/// <summary>
/// Keeps an idle agent's native memory small. glibc gives every thread that contends on malloc an arena of its own
/// (up to 8 per core), each keeping a couple of MiB resident; an agent allocates little natively, so one arena is
/// plenty. Must run before the runtime starts its worker threads' first native allocations to take full effect.
/// </summary>
internal static partial class NativeMemory
{
    private const int MallocArenaMax = -8; // M_ARENA_MAX in glibc's malloc.h

    /// <summary>Limits glibc to one malloc arena; does nothing where glibc is not the C library.</summary>
    public static void UseOneMallocArena()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            _ = Mallopt(MallocArenaMax, 1);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // musl and others have no mallopt: their allocator does not keep per-thread arenas anyway.
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int parameter, int value);
}

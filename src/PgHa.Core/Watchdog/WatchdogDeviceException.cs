namespace PgHa.Watchdog;

/// <summary>A watchdog device could not be opened, configured, kept alive or closed; the message says which call failed and why.</summary>
public sealed class WatchdogDeviceException : Exception
{
    /// <summary>Creates the exception.</summary>
    public WatchdogDeviceException() { }

    /// <summary>Creates the exception with a message.</summary>
    public WatchdogDeviceException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public WatchdogDeviceException(string message, Exception innerException) : base(message, innerException) { }
}

using System.Globalization;
using Microsoft.Extensions.Logging;

namespace PgHa.Host.Daemon;

/// <summary>
/// Patroni-style log lines on standard output (<c>2026-11-26 01:02:03,456 INFO: message</c>), so operators' log
/// parsing keeps working. Small on purpose: one lock, no queue, no background thread.
/// </summary>
public sealed class ConsoleLog(LogLevel minimum, TimeProvider timeProvider, TextWriter? output = null) : ILoggerProvider
{
    private readonly TextWriter _output = output ?? Console.Out;
    private readonly object _gate = new();

    /// <summary>Maps Patroni's <c>log.level</c> names (DEBUG, INFO, WARNING, ERROR, CRITICAL) to a level.</summary>
    public static LogLevel ParseLevel(string level) => level.ToUpperInvariant() switch
    {
        "DEBUG" => LogLevel.Debug,
        "WARNING" or "WARN" => LogLevel.Warning,
        "ERROR" => LogLevel.Error,
        "CRITICAL" or "FATAL" => LogLevel.Critical,
        _ => LogLevel.Information,
    };

    /// <summary>The minimum level, changeable on reload.</summary>
    public LogLevel Minimum { get; set; } = minimum;

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Logger(this);

    /// <inheritdoc />
    public void Dispose() => _output.Flush();

    private void Write(LogLevel level, string message, Exception? exception)
    {
        var name = level switch
        {
            LogLevel.Trace or LogLevel.Debug => "DEBUG",
            LogLevel.Information => "INFO",
            LogLevel.Warning => "WARNING",
            LogLevel.Error => "ERROR",
            _ => "CRITICAL",
        };
        var line = $"{timeProvider.GetLocalNow().ToString("yyyy-MM-dd HH:mm:ss,fff", CultureInfo.InvariantCulture)} {name}: {message}";
        lock (_gate)
        {
            _output.WriteLine(line);
            if (exception is not null) _output.WriteLine(exception);
            _output.Flush();
        }
    }

    private sealed class Logger(ConsoleLog owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= owner.Minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) owner.Write(logLevel, formatter(state, exception), exception);
        }
    }
}

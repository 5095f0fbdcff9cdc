namespace PgHa.Dcs;

/// <summary>
/// The DCS could not be reached or did not answer within the deadline. Distinct from a lost race or CAS mismatch
/// (which return false): the HA loop answers this with the DCS-failure path (a primary stops accepting writes).
/// </summary>
public sealed class DcsUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DcsUnavailableException() : base("The DCS is unavailable.") { }

    /// <summary>Creates the exception with a message.</summary>
    public DcsUnavailableException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the transport error.</summary>
    public DcsUnavailableException(string message, Exception innerException) : base(message, innerException) { }
}

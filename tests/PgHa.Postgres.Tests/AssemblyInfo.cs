// PostgreSQL, the fencer and /proc make these tests Linux-only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

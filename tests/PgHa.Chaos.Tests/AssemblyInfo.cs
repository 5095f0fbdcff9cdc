// Real PostgreSQL, etcd, signals and /proc make these tests Linux-only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
// A cluster per fixture; scenarios share machine-wide resources (CPU, ports) and must not overlap.
[assembly: NonParallelizable]

using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("PgHa.Host.Tests")]

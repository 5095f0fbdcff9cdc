using Microsoft.Extensions.DependencyInjection;

namespace PgHa.Hosting;

internal sealed record PgHaBuilder(IServiceCollection Services) : IPgHaBuilder;

using Exchange.Api.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Exchange.Migrations;

/// <summary>
/// For `dotnet ef migrations add`: a context with the same model and provider as at run time.
/// No database is opened to add a migration.
/// </summary>
public sealed class DesignTimeFactory : IDesignTimeDbContextFactory<ExchangeDbContext>
{
    public ExchangeDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<ExchangeDbContext>()
            .UseNpgsql("Host=localhost;Database=exchange_design", npgsql => npgsql.MigrationsAssembly(ExchangeDbContext.MigrationsAssembly))
            .UseSnakeCaseNamingConvention()
            .Options);
}

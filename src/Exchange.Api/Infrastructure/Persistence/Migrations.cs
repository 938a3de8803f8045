using System.Runtime.Loader;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Infrastructure.Persistence;

/// <summary>Applies the EF Core migrations kept in the Exchange.Migrations assembly.</summary>
public static class Migrations
{
    public static void Apply(IServiceProvider services)
    {
        LoadMigrationsAssembly();
        using var scope = services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<ExchangeDbContext>();
        // Several instances may start at once; PostgreSQL's advisory lock lets one migrate at a time.
        db.Database.OpenConnection();
        try
        {
            db.Database.ExecuteSqlRaw("SELECT pg_advisory_lock(7253017)");
            db.Database.Migrate();
        }
        finally
        {
            db.Database.ExecuteSqlRaw("SELECT pg_advisory_unlock(7253017)");
            db.Database.CloseConnection();
        }
    }

    /// <summary>
    /// The migrations project references this one, so this one cannot reference it back: its build
    /// places Exchange.Migrations.dll beside ours, and EF's load of it by name is answered from there.
    /// </summary>
    private static void LoadMigrationsAssembly()
    {
        var path = Path.Combine(AppContext.BaseDirectory, ExchangeDbContext.MigrationsAssembly + ".dll");
        AssemblyLoadContext.Default.Resolving += (context, name) =>
            name.Name == ExchangeDbContext.MigrationsAssembly && File.Exists(path) ? context.LoadFromAssemblyPath(path) : null;
    }
}

using System.Reflection;
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
    /// places Exchange.Migrations.dll beside ours, and it is loaded from there when not already known.
    /// </summary>
    private static void LoadMigrationsAssembly()
    {
        if (AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == ExchangeDbContext.MigrationsAssembly))
        {
            return;
        }

        try
        {
            Assembly.Load(new AssemblyName(ExchangeDbContext.MigrationsAssembly));
        }
        catch (FileNotFoundException)
        {
            var path = Path.Combine(AppContext.BaseDirectory, ExchangeDbContext.MigrationsAssembly + ".dll");
            AssemblyLoadContext.Default.LoadFromAssemblyPath(path);
        }
    }
}

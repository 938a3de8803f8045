using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Infrastructure.Persistence;

/// <summary>
/// Session advisory locks on the context's connection: "someone is working on this" across instances. PostgreSQL
/// releases them when the connection ends, so a worker killed midway (kill -9) holds nothing up.
/// </summary>
public static class SessionLocks
{
    /// <summary>Runs <paramref name="work"/> holding the lock (class, key); returns false without running it when another session holds it.</summary>
    public static async Task<bool> TryWithLockAsync(this ExchangeDbContext db, AdvisoryLock lockClass, int key, Func<Task> work, CancellationToken cancellationToken)
    {
        var @class = (int)lockClass;
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            if (!await db.Database.SqlQuery<bool>($"SELECT pg_try_advisory_lock({@class}, {key}) AS \"Value\"").SingleAsync(cancellationToken))
            {
                return false;
            }

            try
            {
                await work();
                return true;
            }
            finally
            {
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_unlock({@class}, {key})", CancellationToken.None);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>The one-key form (a lock for the whole of something, such as a reconciler pass).</summary>
    public static async Task<bool> TryWithLockAsync(this ExchangeDbContext db, AdvisoryLock lockKey, Func<Task> work, CancellationToken cancellationToken)
    {
        var key = (long)lockKey;
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            if (!await db.Database.SqlQuery<bool>($"SELECT pg_try_advisory_lock({key}) AS \"Value\"").SingleAsync(cancellationToken))
            {
                return false;
            }

            try
            {
                await work();
                return true;
            }
            finally
            {
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_unlock({key})", CancellationToken.None);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }
}

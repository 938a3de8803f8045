using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Infrastructure.Persistence;

public static class UnitOfWork
{
    /// <summary>
    /// Runs work in one transaction, from a clean change tracker, and runs it again (reading
    /// everything afresh) when a row version shows another writer got there first.
    /// </summary>
    public static async Task<T> InTransactionAsync<T>(this ExchangeDbContext db, Func<Task<T>> work, CancellationToken cancellationToken, int attempts = 5)
    {
        for (var attempt = 1; ; attempt++)
        {
            db.ChangeTracker.Clear();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            try
            {
                var result = await work();
                await db.SaveChangesAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                return result;
            }
            catch (DbUpdateConcurrencyException) when (attempt < attempts)
            {
                await transaction.RollbackAsync(cancellationToken);
            }
        }
    }

    public static Task InTransactionAsync(this ExchangeDbContext db, Func<Task> work, CancellationToken cancellationToken) =>
        db.InTransactionAsync(async () =>
        {
            await work();
            return true;
        }, cancellationToken);
}

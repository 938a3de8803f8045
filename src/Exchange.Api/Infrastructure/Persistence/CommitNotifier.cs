using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Exchange.Api.Infrastructure.Persistence;

/// <summary>
/// Tells the context when a transaction ends, however it was begun (<see cref="UnitOfWork"/>, the transaction
/// behaviour, SaveChanges' own), so <see cref="ExchangeDbContext.WhenCommitted"/> runs its work after a commit
/// and drops it after a rollback.
/// </summary>
internal sealed class CommitNotifier : DbTransactionInterceptor
{
    public static readonly CommitNotifier Instance = new();

    public override void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) =>
        (eventData.Context as ExchangeDbContext)?.RunCommitted(eventData.TransactionId);

    public override Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        TransactionCommitted(transaction, eventData);
        return Task.CompletedTask;
    }

    public override void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) =>
        (eventData.Context as ExchangeDbContext)?.DropCommitted(eventData.TransactionId);

    public override Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        TransactionRolledBack(transaction, eventData);
        return Task.CompletedTask;
    }

    public override void TransactionFailed(DbTransaction transaction, TransactionErrorEventData eventData) =>
        (eventData.Context as ExchangeDbContext)?.DropCommitted(eventData.TransactionId);

    public override Task TransactionFailedAsync(DbTransaction transaction, TransactionErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        TransactionFailed(transaction, eventData);
        return Task.CompletedTask;
    }
}

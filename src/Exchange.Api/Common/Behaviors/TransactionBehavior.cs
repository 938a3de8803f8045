using Exchange.Api.Infrastructure.Persistence;
using Mediator;

namespace Exchange.Api.Common.Behaviors;

/// <summary>
/// Runs a transactional command through the one transaction runner (<see cref="UnitOfWork.InTransactionAsync{T}"/>):
/// one database transaction, run again from a clean slate when a row version shows another writer got there
/// first, and the work it left for after the commit (<see cref="ExchangeDbContext.WhenCommitted"/>) run once it
/// commits. With an Idempotency-Key the key is claimed first, in the same transaction (<see cref="IdempotencyKeys"/>).
/// </summary>
public sealed class TransactionBehavior<TMessage, TResponse>(ExchangeDbContext db, IdempotencyKeys idempotency)
    : IPipelineBehavior<TMessage, TResponse>
    where TMessage : IMessage
{
    public async ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        if (message is not ITransactional)
        {
            return await next(message, cancellationToken);
        }

        var idempotent = message as IIdempotent;
        var key = string.IsNullOrWhiteSpace(idempotent?.IdempotencyKey) ? null : idempotent.IdempotencyKey;
        return await db.InTransactionAsync(async () =>
        {
            if (idempotent is not null && key is not null)
            {
                var (claimed, replay) = await idempotency.ClaimAsync<TResponse>(idempotent, key, cancellationToken);
                if (!claimed)
                {
                    return replay!;
                }
            }

            var response = await next(message, cancellationToken);
            if (idempotent is not null && key is not null)
            {
                await db.SaveChangesAsync(cancellationToken);
                await idempotency.RecordAsync(idempotent, key, response, cancellationToken);
            }

            return response;
        }, cancellationToken);
    }
}

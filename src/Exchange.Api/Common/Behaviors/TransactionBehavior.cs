using System.Text.Json;
using Exchange.Api.Infrastructure.Persistence;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Common.Behaviors;

/// <summary>
/// Runs a transactional command in one database transaction, then the work it left for after the
/// commit. With an Idempotency-Key, the key is claimed first by a unique index: a concurrent
/// request with the same key waits on that index until the first commits, then gets its answer.
/// </summary>
public sealed class TransactionBehavior<TMessage, TResponse>(ExchangeDbContext db, AfterCommit afterCommit, TimeProvider clock, Infrastructure.CrashPoints crash)
    : IPipelineBehavior<TMessage, TResponse>
    where TMessage : IMessage
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async ValueTask<TResponse> Handle(TMessage message, MessageHandlerDelegate<TMessage, TResponse> next, CancellationToken cancellationToken)
    {
        if (message is not ITransactional)
        {
            return await next(message, cancellationToken);
        }

        var idempotent = message as IIdempotent;
        var key = string.IsNullOrWhiteSpace(idempotent?.IdempotencyKey) ? null : idempotent.IdempotencyKey;

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (idempotent is not null && key is not null)
        {
            var claimed = await db.Database.ExecuteSqlAsync(
                $"""
                INSERT INTO idempotency_keys (member_id, key, operation, status_code, response_json, created_at)
                VALUES ({idempotent.MemberId}, {key}, {idempotent.Operation}, 0, 'null'::jsonb, {clock.GetUtcNow()})
                ON CONFLICT (member_id, key) DO NOTHING
                """,
                cancellationToken);
            if (claimed == 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                return await ReplayAsync(idempotent.MemberId, key, idempotent.Operation, cancellationToken);
            }
        }

        TResponse response;
        try
        {
            response = await next(message, cancellationToken);
            await db.SaveChangesAsync(cancellationToken);
            if (idempotent is not null && key is not null)
            {
                var json = JsonSerializer.Serialize(response, Json);
                await db.Database.ExecuteSqlAsync(
                    $"UPDATE idempotency_keys SET status_code = 200, response_json = {json}::jsonb WHERE member_id = {idempotent.MemberId} AND key = {key}",
                    cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }
        catch
        {
            afterCommit.Discard();
            throw;
        }

        if (idempotent?.Operation == "withdrawals.request")
        {
            crash.At("after-hold");
        }

        afterCommit.Run();
        return response;
    }

    private async Task<TResponse> ReplayAsync(Guid memberId, string key, string operation, CancellationToken cancellationToken)
    {
        var record = await db.IdempotencyRecords.AsNoTracking()
            .SingleAsync(r => r.MemberId == memberId && r.Key == key, cancellationToken);
        if (record.Operation != operation)
        {
            throw new ConflictException("This Idempotency-Key was already used for another operation.", "Idempotency-Key");
        }

        return JsonSerializer.Deserialize<TResponse>(record.ResponseJson, Json)
            ?? throw new ConflictException("The first request with this Idempotency-Key has no answer to repeat.", "Idempotency-Key");
    }
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Exchange.Api.Infrastructure.Persistence;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Common.Behaviors;

/// <summary>
/// Runs a transactional command in one database transaction, then the work it left for after the
/// commit. With an Idempotency-Key, the key is claimed first by a unique index: a concurrent
/// request with the same key waits on that index until the first commits, then gets its answer.
/// The key is stored with a hash of the request it was first used for: a repeat that asks for
/// something else is refused (422), never answered with the first request's result.
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
            var requestHash = RequestHash(idempotent);
            var claimed = await db.Database.ExecuteSqlAsync(
                $"""
                INSERT INTO idempotency_keys (member_id, key, operation, request_hash, status_code, response_json, created_at)
                VALUES ({idempotent.MemberId}, {key}, {idempotent.Operation}, {requestHash}, 0, 'null'::jsonb, {clock.GetUtcNow()})
                ON CONFLICT (member_id, key) DO NOTHING
                """,
                cancellationToken);
            if (claimed == 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                return await ReplayAsync(idempotent, key, requestHash, cancellationToken);
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

    private async Task<TResponse> ReplayAsync(IIdempotent message, string key, string requestHash, CancellationToken cancellationToken)
    {
        var record = await db.IdempotencyRecords.AsNoTracking()
            .SingleAsync(r => r.MemberId == message.MemberId && r.Key == key, cancellationToken);
        if (record.Operation != message.Operation)
        {
            throw new ConflictException("This Idempotency-Key was already used for another operation.", "Idempotency-Key");
        }

        if (record.RequestHash is not null && record.RequestHash != requestHash)
        {
            throw new UnprocessableException("Idempotency-Key reused with a different request", "Idempotency-Key");
        }

        return JsonSerializer.Deserialize<TResponse>(record.ResponseJson, Json)
            ?? throw new ConflictException("The first request with this Idempotency-Key has no answer to repeat.", "Idempotency-Key");
    }

    /// <summary>
    /// SHA-256 of the command as JSON without its key: the operation and every field the client sent,
    /// the member's id among them. A retry of the same request hashes the same.
    /// </summary>
    private static string RequestHash(IIdempotent message)
    {
        var fields = JsonSerializer.SerializeToNode(message, message.GetType(), Json)!.AsObject();
        fields.Remove("idempotencyKey");
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(fields.ToJsonString())));
    }
}

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Exchange.Api.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Common.Behaviors;

/// <summary>
/// The Idempotency-Key of a command, claimed inside its transaction by a unique index: a concurrent
/// request with the same key waits on that index until the first commits, then gets its answer. The
/// key is stored with a hash of the request it was first used for: a repeat that asks for something
/// else is refused (422), never answered with the first request's result.
/// </summary>
public sealed class IdempotencyKeys(ExchangeDbContext db, TimeProvider clock)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Claims the key; when it was claimed before, returns the first request's answer to repeat.</summary>
    public async Task<(bool Claimed, TResponse? Replay)> ClaimAsync<TResponse>(IIdempotent message, string key, CancellationToken cancellationToken)
    {
        var requestHash = RequestHash(message);
        var claimed = await db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO idempotency_keys (member_id, key, operation, request_hash, status_code, response_json, created_at)
            VALUES ({message.MemberId}, {key}, {message.Operation}, {requestHash}, 0, 'null'::jsonb, {clock.GetUtcNow()})
            ON CONFLICT (member_id, key) DO NOTHING
            """,
            cancellationToken);
        return claimed == 1 ? (true, default) : (false, await ReplayAsync<TResponse>(message, key, requestHash, cancellationToken));
    }

    /// <summary>Stores the answer beside the claimed key, in the same transaction.</summary>
    public async Task RecordAsync<TResponse>(IIdempotent message, string key, TResponse response, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.Serialize(response, Json);
        await db.Database.ExecuteSqlAsync(
            $"UPDATE idempotency_keys SET status_code = 200, response_json = {json}::jsonb WHERE member_id = {message.MemberId} AND key = {key}",
            cancellationToken);
    }

    private async Task<TResponse> ReplayAsync<TResponse>(IIdempotent message, string key, string requestHash, CancellationToken cancellationToken)
    {
        // Read committed: this statement sees the first request's row, committed while the claim waited on the index.
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

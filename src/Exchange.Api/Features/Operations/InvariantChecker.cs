using System.Data.Common;
using Exchange.Api.Features.Audit;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Exchange.Api.Bookkeeping;

namespace Exchange.Api.Features.Operations;

/// <summary>
/// Checks the invariants of ARCHITECTURE.md against the database and the chain, for tests and for
/// operators (GET /api/operations/invariants, and `Exchange.Api check-invariants` on the command
/// line). Each is held or broken, with the ids that break it. Read-only.
/// </summary>
public sealed class InvariantChecker(ExchangeDbContext db, AuditChain audit, EthereumChain chain, HotWalletAddress wallet)
{
    public sealed record Invariant(string Name, bool Held, string Detail, IReadOnlyList<string> Offending);

    public sealed record Report(bool Ok, DateTimeOffset CheckedAt, IReadOnlyList<Invariant> Invariants);

    private const int MaxOffending = 50;

    public async Task<Report> CheckAsync(CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        var results = new List<Invariant>();
        try
        {
            // One snapshot for every database check, so they agree with each other.
            await using (var tx = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken))
            {
                results.Add(await SqlCheckAsync(connection, tx, "conservation",
                    "per asset: available + held + withdrawn out = credited in",
                    """
                    WITH j AS (
                        SELECT asset,
                               sum(available_delta) FILTER (WHERE kind = 'credit') AS credited,
                               -sum(held_delta) FILTER (WHERE kind = 'withdrawal_out') AS withdrawn
                        FROM journal_entries GROUP BY asset),
                    b AS (SELECT asset, sum(available) AS available, sum(held) AS held FROM balances GROUP BY asset)
                    SELECT coalesce(j.asset, b.asset) || ': credited ' || coalesce(j.credited, 0) || ', available ' || coalesce(b.available, 0)
                           || ' + held ' || coalesce(b.held, 0) || ' + withdrawn ' || coalesce(j.withdrawn, 0)
                    FROM j FULL JOIN b ON b.asset = j.asset
                    WHERE coalesce(j.credited, 0) <> coalesce(b.available, 0) + coalesce(b.held, 0) + coalesce(j.withdrawn, 0)
                    """, cancellationToken));
                results.Add(await SqlCheckAsync(connection, tx, "balances_match_journal",
                    "every balance equals the sum of its journal entries",
                    """
                    SELECT b.member_id || '/' || b.asset FROM balances b
                    LEFT JOIN (SELECT member_id, asset, sum(available_delta) AS a, sum(held_delta) AS h FROM journal_entries GROUP BY member_id, asset) j
                      ON j.member_id = b.member_id AND j.asset = b.asset
                    WHERE b.available <> coalesce(j.a, 0) OR b.held <> coalesce(j.h, 0)
                    """, cancellationToken));
                results.Add(await SqlCheckAsync(connection, tx, "no_negative_balance",
                    "no available or held balance below zero",
                    "SELECT member_id || '/' || asset FROM balances WHERE available < 0 OR held < 0", cancellationToken));
                // A nonce a withdrawal left is one a transaction it did not send took (ResignTakenNonce), audited with it.
                results.Add(await SqlCheckAsync(connection, tx, "one_nonce_per_withdrawal",
                    "every transaction of a withdrawal (replacements included) has its nonce, or one it left audited as withdrawal.nonce_taken",
                    """
                    SELECT DISTINCT t.withdrawal_id::text FROM withdrawal_transactions t JOIN withdrawals w ON w.id = t.withdrawal_id
                    WHERE t.nonce IS DISTINCT FROM w.nonce
                      AND NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.subject = 'withdrawal:' || t.withdrawal_id
                                      AND a.action = 'withdrawal.nonce_taken' AND a.data->>'nonce' = t.nonce::text)
                    """, cancellationToken));
                results.Add(await SqlCheckAsync(connection, tx, "no_nonce_used_twice",
                    "no nonce of the hot wallet belongs to two withdrawals",
                    "SELECT 'nonce ' || nonce FROM withdrawal_transactions GROUP BY nonce HAVING count(DISTINCT withdrawal_id) > 1", cancellationToken));
                results.Add(await SqlCheckAsync(connection, tx, "signed_bytes_stored",
                    "every signed or later withdrawal has its raw bytes and hash stored, among its transactions",
                    """
                    SELECT w.id::text FROM withdrawals w
                    WHERE w.status IN ('signed', 'broadcast', 'confirmed')
                      AND (w.raw_transaction IS NULL OR w.tx_hash IS NULL
                           OR NOT EXISTS (SELECT 1 FROM withdrawal_transactions t WHERE t.withdrawal_id = w.id AND t.hash = w.tx_hash))
                    """, cancellationToken));
                results.Add(await SqlCheckAsync(connection, tx, "holds_released_exactly_once",
                    "a request that ended before signing released its hold once; any other released nothing; each held once",
                    """
                    WITH r AS (
                        SELECT id, status, 'withdrawal' AS kind FROM withdrawals UNION ALL SELECT id, status, 'transfer' FROM transfers),
                    j AS (
                        SELECT request_id, count(*) FILTER (WHERE kind = 'hold') AS holds, count(*) FILTER (WHERE kind = 'release') AS releases
                        FROM journal_entries WHERE request_id IS NOT NULL GROUP BY request_id)
                    SELECT r.kind || ':' || r.id || ' (' || r.status || ', holds ' || coalesce(j.holds, 0) || ', releases ' || coalesce(j.releases, 0) || ')'
                    FROM r LEFT JOIN j ON j.request_id = r.id
                    WHERE coalesce(j.holds, 0) <> 1
                       OR coalesce(j.releases, 0) <> CASE WHEN r.status IN ('declined', 'expired', 'token_expired', 'rejected', 'cancelled', 'failed') THEN 1 ELSE 0 END
                    """, cancellationToken));
                await tx.CommitAsync(cancellationToken);
            }

            results.Add(await ChainCheckAsync(connection, cancellationToken));
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }

        var verification = await audit.VerifyAsync(cancellationToken);
        results.Add(new Invariant("audit_chain_verifies", verification.Ok,
            $"{verification.Checked} sealed events checked, {verification.Unsealed} not sealed yet",
            verification.Ok ? [] : [verification.FirstBrokenSeq is { } seq ? $"seq {seq}" : $"missing after chain_seq {verification.MissingAfterChainSeq}"]));
        return new Report(results.All(r => r.Held), DateTimeOffset.UtcNow, results);
    }

    /// <summary>
    /// The chain's own word: every nonce the hot wallet has mined is one transaction we stored for one
    /// withdrawal, exactly one of a withdrawal's hashes is mined, and a confirmed withdrawal's is it.
    /// </summary>
    private async Task<Invariant> ChainCheckAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var stored = new List<(Guid Withdrawal, long Nonce, string Hash, string Status, string? Current)>();
        await using (var command = new NpgsqlCommand(
            "SELECT t.withdrawal_id, t.nonce, t.hash, w.status, w.tx_hash FROM withdrawal_transactions t JOIN withdrawals w ON w.id = t.withdrawal_id", connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                stored.Add((reader.GetGuid(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4)));
            }
        }

        var mined = new System.Collections.Concurrent.ConcurrentDictionary<string, ReceiptInfo>(StringComparer.OrdinalIgnoreCase);
        await Parallel.ForEachAsync(stored, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (t, ct) =>
        {
            if (await chain.GetReceiptAsync(t.Hash, ct) is { } receipt)
            {
                mined[t.Hash] = receipt;
            }
        });

        var offending = new List<string>();
        foreach (var group in stored.GroupBy(t => t.Withdrawal))
        {
            var minedHashes = group.Where(t => mined.ContainsKey(t.Hash)).ToList();
            if (minedHashes.Count > 1)
            {
                offending.Add($"withdrawal:{group.Key} has {minedHashes.Count} mined transactions");
            }

            var first = group.First();
            if (first.Status == "confirmed" && (minedHashes.Count != 1 || !string.Equals(minedHashes[0].Hash, first.Current, StringComparison.OrdinalIgnoreCase)))
            {
                offending.Add($"withdrawal:{group.Key} is confirmed but its stored hash is not the mined one");
            }
        }

        var minedNonces = stored.Where(t => mined.ContainsKey(t.Hash)).Select(t => t.Nonce).Distinct().Count();
        var taken = await TakenNoncesAsync(connection, cancellationToken);
        var onChain = (long)await chain.GetMinedNonceAsync(wallet.Value, cancellationToken);
        // Every mined nonce is ours, or one a transaction we did not send took from a withdrawal, audited: any other is unexplained.
        if (onChain != minedNonces + taken)
        {
            offending.Add($"the hot wallet {wallet.Value} has {onChain} mined transactions, {minedNonces} of them ours, {taken} audited as taken by others");
        }

        return new Invariant("chain_matches_withdrawals", offending.Count == 0,
            $"{stored.Count} stored transactions, {mined.Count} mined; the hot wallet's mined nonce is {onChain}", offending.Take(MaxOffending).ToList());
    }

    /// <summary>How many nonces of ours transactions the exchange did not send took (withdrawal.nonce_taken).</summary>
    private static async Task<long> TakenNoncesAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT count(DISTINCT data->>'nonce') FROM audit_events WHERE action = 'withdrawal.nonce_taken'", connection);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task<Invariant> SqlCheckAsync(NpgsqlConnection connection, DbTransaction tx, string name, string detail, string sql, CancellationToken cancellationToken)
    {
        var offending = new List<string>();
        await using var command = new NpgsqlCommand(sql + $" LIMIT {MaxOffending}", connection, (NpgsqlTransaction)tx);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            offending.Add(reader.GetString(0));
        }

        return new Invariant(name, offending.Count == 0, detail, offending);
    }

    /// <summary>One line per invariant, for the command line and logs.</summary>
    public static string Format(Report report) => string.Join('\n',
        report.Invariants.Select(i => $"{(i.Held ? "held  " : "BROKEN")}  {i.Name}: {i.Detail}{(i.Offending.Count > 0 ? "\n          " + string.Join("\n          ", i.Offending) : "")}")
            .Append(report.Ok ? "All invariants hold." : "Some invariants are broken."));

    public static void Map(RouteGroupBuilder operations) =>
        operations.MapGet("/invariants", async (InvariantChecker checker, CancellationToken ct) => await checker.CheckAsync(ct))
            .RequireAuthorization(policy => policy.RequireRole(Common.Roles.Operator))
            .WithSummary("Check the system's invariants now");
}

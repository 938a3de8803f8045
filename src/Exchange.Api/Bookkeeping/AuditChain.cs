using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Exchange.Api.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Exchange.Api.Bookkeeping;

/// <summary>
/// The audit trail's hash chain. Events are inserted by the transactions that change state, with
/// no chain lock; the sealer links them afterwards, one sealer at a time (an advisory lock that no
/// writer ever takes). Each pass links every committed event not yet in the chain, ordered by its
/// transaction's commit timestamp (when the server tracks them; otherwise by transaction id), so
/// the chain follows commit order, not the order sequence numbers were handed out: a transaction
/// that took its numbers early and committed late is not yet visible to one pass and is linked by
/// the next, after everything that committed before it. Each hash covers the one before it, and
/// the head of the chain is kept apart, so deleting the newest events shows too.
/// </summary>
public sealed class AuditChain(ExchangeDbContext db, Infrastructure.CrashPoints crash)
{
    /// <summary>The sealer's advisory lock; tests hold it to show that no writer waits on sealing.</summary>
    public const long SealerLock = (long)AdvisoryLock.AuditSealer;
    /// <summary>The most events one seal links; a full batch means more may be waiting.</summary>
    public const int Batch = 5000;
    private static readonly byte[] Genesis = new byte[32];

    /// <summary>
    /// FirstBrokenSeq names the first event whose link or hash does not hold; MissingAfterChainSeq is
    /// set when the chain ends before the head the sealer recorded (its newest events were deleted).
    /// </summary>
    public sealed record Verification(bool Ok, long Checked, long? FirstBrokenSeq, long Unsealed, long? MissingAfterChainSeq = null);

    /// <summary>Seals what can be sealed now; returns how many events it linked.</summary>
    public async Task<int> SealAsync(CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        var tx = (NpgsqlTransaction)transaction.GetDbTransaction();
        if (!await ScalarAsync<bool>(connection, tx, $"SELECT pg_try_advisory_xact_lock({SealerLock})", cancellationToken))
        {
            return 0;
        }

        long chainSeq = 0;
        var previous = Genesis;
        await using (var tail = new NpgsqlCommand("SELECT chain_seq, hash FROM audit_events WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1", connection, tx))
        await using (var reader = await tail.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                chainSeq = reader.GetInt64(0);
                previous = (byte[])reader[1];
            }
        }

        var seqs = new List<long>();
        var chains = new List<long>();
        var prevs = new List<byte[]>();
        var hashes = new List<byte[]>();
        // Commit order where the server records commit timestamps (track_commit_timestamp); transaction-id order otherwise.
        var commitOrder = await ScalarAsync<string>(connection, tx, "SELECT current_setting('track_commit_timestamp')", cancellationToken) == "on"
            ? "pg_xact_commit_timestamp(writer_xid::xid) NULLS FIRST, writer_xid"
            : "writer_xid";
        await using (var pending = new NpgsqlCommand(
            $"SELECT seq, at, actor, action, subject, data::text FROM audit_events WHERE chain_seq IS NULL ORDER BY {commitOrder}, seq LIMIT {Batch}",
            connection, tx))
        await using (var reader = await pending.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                chainSeq++;
                var hash = Hash(previous, chainSeq, reader);
                seqs.Add(reader.GetInt64(0));
                chains.Add(chainSeq);
                prevs.Add(previous);
                hashes.Add(hash);
                previous = hash;
            }
        }

        if (seqs.Count > 0)
        {
            await using var seal = new NpgsqlCommand(
                """
                UPDATE audit_events a SET chain_seq = v.c, prev_hash = v.p, hash = v.h, sealed_at = now()
                FROM unnest(@seqs, @chains, @prevs, @hashes) AS v(s, c, p, h) WHERE a.seq = v.s
                """, connection, tx);
            seal.Parameters.AddWithValue("seqs", seqs.ToArray());
            seal.Parameters.AddWithValue("chains", chains.ToArray());
            seal.Parameters.AddWithValue("prevs", prevs.ToArray());
            seal.Parameters.AddWithValue("hashes", hashes.ToArray());
            await seal.ExecuteNonQueryAsync(cancellationToken);
            crash.At("mid-seal");
            await using var head = new NpgsqlCommand(
                """
                INSERT INTO audit_chain_head (id, chain_seq, hash, sealed_at) VALUES (1, @chain, @hash, now())
                ON CONFLICT (id) DO UPDATE SET chain_seq = excluded.chain_seq, hash = excluded.hash, sealed_at = excluded.sealed_at
                """, connection, tx);
            head.Parameters.AddWithValue("chain", chainSeq);
            head.Parameters.AddWithValue("hash", previous);
            await head.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return seqs.Count;
    }

    /// <summary>Walks the chain from its start; names the first event whose link or hash does not hold.</summary>
    public async Task<Verification> VerifyAsync(CancellationToken cancellationToken) => (await WalkAsync(null, cancellationToken)).Chain;

    /// <summary>The newest link of the chain: its sequence, hash and when it was sealed; null before anything is sealed.</summary>
    public async Task<(long ChainSeq, byte[] Hash, DateTimeOffset SealedAt)?> HeadAsync(CancellationToken cancellationToken)
    {
        var head = await db.AuditEvents.AsNoTracking().Where(a => a.ChainSeq != null).OrderByDescending(a => a.ChainSeq)
            .Select(a => new { a.ChainSeq, a.Hash, a.SealedAt }).FirstOrDefaultAsync(cancellationToken);
        return head is null ? null : (head.ChainSeq!.Value, head.Hash!, head.SealedAt!.Value);
    }

    /// <summary>
    /// Whether today's chain extends a head recorded outside the database (a checkpoint): the link at its sequence
    /// still has its hash, and the whole chain holds. A rewrite re-hashed from the start is consistent in itself,
    /// and only this comparison shows it. The message names the first problem met walking from the start.
    /// </summary>
    public async Task<(bool Ok, string Message)> ExtendsAsync(long chainSeq, byte[] hash, CancellationToken cancellationToken)
    {
        var (chain, atCheckpoint) = await WalkAsync(chainSeq, cancellationToken);
        if (atCheckpoint is not null && !atCheckpoint.AsSpan().SequenceEqual(hash))
        {
            return (false, $"The audit event at chain sequence {chainSeq} no longer has the checkpoint's hash: the trail up to the checkpoint was rewritten.");
        }

        if (!chain.Ok)
        {
            return (false, chain.FirstBrokenSeq is { } seq
                ? $"The audit chain is broken at event {seq}, after {chain.Checked} intact links."
                : $"The audit chain ends at chain sequence {chain.MissingAfterChainSeq}, before the head the sealer recorded: its newest events were deleted.");
        }

        return atCheckpoint is null
            ? (false, $"The audit chain has {chain.Checked} links, fewer than the checkpoint's {chainSeq}: events were deleted.")
            : (true, $"The audit trail extends the checkpoint: the link at chain sequence {chainSeq} holds, and the chain is intact up to {chain.Checked}.");
    }

    /// <summary>The walk behind both: the chain's verification, and the stored hash of the link at <paramref name="capture"/> if reached.</summary>
    private async Task<(Verification Chain, byte[]? Captured)> WalkAsync(long? capture, CancellationToken cancellationToken)
    {
        byte[]? captured = null;
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var unsealed = await ScalarAsync<long>(connection, null, "SELECT count(*) FROM audit_events WHERE chain_seq IS NULL", cancellationToken);
            // The head first: a seal committing during the walk moves the head and its events together, so a head read
            // before the walk never runs ahead of what the walk sees (read after it, it could, and look like a deletion).
            var recorded = await ScalarAsync<long?>(connection, null, "SELECT (SELECT chain_seq FROM audit_chain_head WHERE id = 1)", cancellationToken);
            await using var walk = new NpgsqlCommand(
                "SELECT seq, at, actor, action, subject, data::text, chain_seq, prev_hash, hash FROM audit_events WHERE chain_seq IS NOT NULL ORDER BY chain_seq",
                connection);
            await using var reader = await walk.ExecuteReaderAsync(cancellationToken);
            long expected = 0;
            var previous = Genesis;
            while (await reader.ReadAsync(cancellationToken))
            {
                expected++;
                var chainSeq = reader.GetInt64(6);
                var prevHash = (byte[])reader[7];
                var hash = (byte[])reader[8];
                // A gap (a deleted event), a wrong link, or a hash that no longer matches the event's content.
                if (chainSeq != expected || !prevHash.AsSpan().SequenceEqual(previous) || !Hash(previous, chainSeq, reader).AsSpan().SequenceEqual(hash))
                {
                    return (new Verification(false, expected - 1, reader.GetInt64(0), unsealed), captured);
                }

                captured = chainSeq == capture ? hash : captured;
                previous = hash;
            }

            await reader.DisposeAsync();
            // The newest events leave no gap behind them when deleted: the head the sealer recorded tells.
            if (recorded is { } head && head > expected)
            {
                return (new Verification(false, expected, null, unsealed, expected), captured);
            }

            return (new Verification(true, expected, null, unsealed), captured);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>SHA-256 over the previous hash and the event's canonical text (columns 0–5 of the reader).</summary>
    private static byte[] Hash(byte[] previous, long chainSeq, DbDataReader row)
    {
        var at = row.GetFieldValue<DateTime>(1).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        var canonical = string.Join('\n', chainSeq.ToString(CultureInfo.InvariantCulture), row.GetInt64(0).ToString(CultureInfo.InvariantCulture),
            at, row.GetString(2), row.GetString(3), row.GetString(4), row.GetString(5));
        var text = Encoding.UTF8.GetBytes(canonical);
        var input = new byte[previous.Length + text.Length];
        previous.CopyTo(input, 0);
        text.CopyTo(input, previous.Length);
        return SHA256.HashData(input);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, NpgsqlTransaction? tx, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, tx);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is DBNull ? default! : (T)value!;
    }
}

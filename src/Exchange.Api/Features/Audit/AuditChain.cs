using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Exchange.Api.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Exchange.Api.Features.Audit;

/// <summary>
/// The audit trail's hash chain. Events are inserted by the transactions that change state, with
/// no chain lock; the sealer links them afterwards, one sealer at a time (an advisory lock), and only
/// events whose writing transaction has ended along with every transaction that began before it
/// (writer_xid below the snapshot's xmin), so a transaction that took its sequence numbers early but
/// committed late is sealed when it ends, never skipped. Each hash covers the one before it.
/// </summary>
public sealed class AuditChain(ExchangeDbContext db)
{
    private const long SealerLock = 7253018;
    /// <summary>The most events one seal links; a full batch means more may be waiting.</summary>
    public const int Batch = 5000;
    private static readonly byte[] Genesis = new byte[32];

    public sealed record Verification(bool Ok, long Checked, long? FirstBrokenSeq, long Unsealed);

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
        await using (var pending = new NpgsqlCommand(
            $"""
            SELECT seq, at, actor, action, subject, data::text FROM audit_events
            WHERE chain_seq IS NULL AND writer_xid < pg_snapshot_xmin(pg_current_snapshot())
            ORDER BY writer_xid, seq LIMIT {Batch}
            """, connection, tx))
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
        }

        await transaction.CommitAsync(cancellationToken);
        return seqs.Count;
    }

    /// <summary>Walks the chain from its start; names the first event whose link or hash does not hold.</summary>
    public async Task<Verification> VerifyAsync(CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var unsealed = await ScalarAsync<long>(connection, null, "SELECT count(*) FROM audit_events WHERE chain_seq IS NULL", cancellationToken);
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
                    return new Verification(false, expected - 1, reader.GetInt64(0), unsealed);
                }

                previous = hash;
            }

            return new Verification(true, expected, null, unsealed);
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
        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}

using Npgsql;

namespace Exchange.Api.Tests.Support;

/// <summary>
/// A row lock the test holds on a connection of its own (SELECT … FOR UPDATE in an open transaction), so that
/// requests sent now must queue behind it: once they all wait, they are provably in flight at the same moment.
/// </summary>
public sealed class RowHold : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private NpgsqlTransaction? _transaction;
    private readonly string _connectionString;
    private readonly int _pid;

    private RowHold(NpgsqlConnection connection, NpgsqlTransaction transaction, string connectionString, int pid) =>
        (_connection, _transaction, _connectionString, _pid) = (connection, transaction, connectionString, pid);

    /// <summary>Runs <paramref name="lockSql"/> (a SELECT … FOR UPDATE that must find its row) and keeps the lock.</summary>
    public static async Task<RowHold> TakeAsync(string connectionString, string lockSql)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using (var pid = new NpgsqlCommand("SELECT pg_backend_pid()", connection, transaction))
        {
            var me = (int)(await pid.ExecuteScalarAsync())!;
            await using var take = new NpgsqlCommand(lockSql, connection, transaction);
            Assert.NotNull(await take.ExecuteScalarAsync());
            return new RowHold(connection, transaction, connectionString, me);
        }
    }

    /// <summary>
    /// Sessions waiting, directly or behind one that waits, on this hold: a request queued behind another
    /// request's lock (one it took before the row held here) counts too.
    /// </summary>
    public async Task<long> WaitersAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand(
            $"""
            WITH w AS (SELECT pid, pg_blocking_pids(pid) AS by FROM pg_stat_activity WHERE datname = current_database())
            SELECT count(*) FROM w WHERE {_pid} = ANY(w.by) OR EXISTS (SELECT 1 FROM w AS v WHERE v.pid = ANY(w.by) AND {_pid} = ANY(v.by))
            """, connection);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    /// <summary>Lets the queued requests go.</summary>
    public async Task ReleaseAsync()
    {
        if (_transaction is not null)
        {
            await _transaction.RollbackAsync();
            await _transaction.DisposeAsync();
            _transaction = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ReleaseAsync();
        await _connection.DisposeAsync();
    }
}

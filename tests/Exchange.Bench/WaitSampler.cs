using Npgsql;

namespace Exchange.Bench;

/// <summary>
/// A profile of the database side of a phase: every 100 ms, what each busy backend of the exchange is
/// doing (running, or waiting and on what: a row lock, the WAL flush, the client). Counts per kind.
/// </summary>
public sealed class WaitSampler : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampling;
    private readonly Dictionary<string, int> _counts = [];

    private WaitSampler(string connectionString) => _sampling = SampleAsync(connectionString);

    public static WaitSampler Start(BenchSystem system) => new(system.OwnerConnectionString);

    private async Task SampleAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        while (!_stop.IsCancellationRequested)
        {
            await using (var query = new NpgsqlCommand("""
                SELECT coalesce(wait_event_type || ':' || wait_event, 'running') || ' (' || state || ')'
                FROM pg_stat_activity
                WHERE datname = current_database() AND usename = 'exchange_app' AND state NOT IN ('idle') AND pid <> pg_backend_pid()
                """, connection))
            await using (var reader = await query.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    var key = reader.GetString(0);
                    _counts[key] = _counts.GetValueOrDefault(key) + 1;
                }
            }

            try
            {
                await Task.Delay(100, _stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>The commonest states, most frequent first.</summary>
    public async Task<string> StopAsync()
    {
        await _stop.CancelAsync();
        await _sampling;
        var total = Math.Max(1, _counts.Values.Sum());
        return string.Join(", ", _counts.OrderByDescending(c => c.Value).Take(6).Select(c => $"{c.Key} {100.0 * c.Value / total:F0} %"));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }
}

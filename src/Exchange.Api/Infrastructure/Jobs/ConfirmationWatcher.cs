using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.Persistence;
using Microsoft.Extensions.Options;
using Npgsql;
using Exchange.Api.Infrastructure.Telemetry;

namespace Exchange.Api.Infrastructure.Jobs;

/// <summary>
/// Follows every broadcast withdrawal to its confirmation: at each new block, one look at the receipts of
/// all of them (<see cref="WorkKind.FollowReceipts"/>: settle, count confirmations, or notice a reorg).
/// Every second it also sends again, or replaces, what has sat unmined since its last broadcast
/// (Ethereum:RebroadcastAfterSeconds; replacement after Ethereum:ReplaceAfterSeconds), mined blocks or not.
/// One instance watches at a time (a session advisory lock, which dies with its connection); the others
/// stand by. A withdrawal a job is already working on is skipped (its own lock), and the reconciler still
/// re-broadcasts and replaces what stays unmined.
/// </summary>
public sealed class ConfirmationWatcher(
    IServiceScopeFactory scopes,
    EthereumChain chain,
    NpgsqlDataSource dataSource,
    IOptions<ExchangeOptions> options,
    IOptions<EthereumOptions> ethereum,
    ILogger<ConfirmationWatcher> logger) : BackgroundService
{
    private const int BatchSize = 5000;
    private static readonly TimeSpan BlockPoll = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan StandBy = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan NudgeEvery = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var leader = await dataSource.OpenConnectionAsync(stoppingToken);
                if (!await TryLockAsync(leader, stoppingToken))
                {
                    await Task.Delay(StandBy, stoppingToken);
                    continue;
                }

                long? seen = null;
                var nudged = System.Diagnostics.Stopwatch.StartNew();
                while (!stoppingToken.IsCancellationRequested)
                {
                    var block = await chain.GetBlockNumberAsync(stoppingToken);
                    if (block != seen)
                    {
                        // A new block, or another one at the same height (a reorganisation): every receipt may have changed.
                        seen = block;
                        await ForEachAsync(await IdsAsync($"SELECT id FROM withdrawals WHERE status = 'broadcast' ORDER BY updated_at LIMIT {BatchSize}", stoppingToken),
                            WorkKind.FollowReceipts, stoppingToken);
                    }

                    if (nudged.Elapsed >= NudgeEvery)
                    {
                        // Blocks or none: what has sat unmined since its last broadcast is sent again, or replaced.
                        nudged.Restart();
                        await ForEachAsync(await StaleAsync(stoppingToken), WorkKind.NudgeWithdrawal, stoppingToken);
                    }

                    await Task.Delay(BlockPoll, stoppingToken);
                    // The lock lives as long as this connection: a lost connection ends the watch here, and another instance takes over.
                    await using var alive = new NpgsqlCommand("SELECT 1", leader);
                    await alive.ExecuteScalarAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "The confirmation watcher stopped; starting again in {Delay}", StandBy);
                await Task.Delay(StandBy, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private static async Task<bool> TryLockAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT pg_try_advisory_lock({(long)AdvisoryLock.ConfirmationWatcher})", connection);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private Task<List<Guid>> StaleAsync(CancellationToken cancellationToken)
    {
        var seconds = Math.Max(1, ethereum.Value.RebroadcastAfterSeconds);
        return IdsAsync($"""
            SELECT w.id FROM withdrawals w
            WHERE w.status IN ('signed', 'broadcast') AND w.updated_at <= now() - interval '{seconds} seconds'
              AND NOT EXISTS (SELECT 1 FROM withdrawal_transactions t
                              WHERE t.withdrawal_id = w.id AND coalesce(t.last_broadcast_at, t.created_at) > now() - interval '{seconds} seconds')
            ORDER BY w.updated_at LIMIT {BatchSize}
            """, cancellationToken);
    }

    private async Task<List<Guid>> IdsAsync(string sql, CancellationToken cancellationToken)
    {
        var ids = new List<Guid>();
        await using var command = dataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    private Task ForEachAsync(List<Guid> ids, WorkKind step, CancellationToken stoppingToken) =>
        Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = options.Value.ConfirmationWorkers, CancellationToken = stoppingToken }, async (id, token) =>
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredKeyedService<IWorkStep>(step).RunAsync(id, token);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                using var scope = logger.BeginScope(LogFields.Withdrawal(id));
                logger.LogWarning(e, "Following the withdrawal on chain failed; the next round tries again");
            }
        });
}

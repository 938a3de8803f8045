using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Exchange.Api.Infrastructure.Persistence;
using Npgsql;
using Exchange.Api.Infrastructure.Telemetry;

namespace Exchange.Api.Infrastructure.Jobs;

/// <summary>
/// Starts the work a person is waiting for the moment its transaction commits, without a queue poll.
/// An instance that runs jobs does it itself, on a pool of in-process workers; an API-only instance
/// hands it to the job-running instances with PostgreSQL NOTIFY (channel <see cref="Channel"/>), which
/// every one of them LISTENs to. Nothing here is durable, on purpose: the database row (a challenge in
/// state sending, an approved withdrawal) is the record of the work, every job is safe to run twice,
/// and the reconciler takes up whatever a crash or a lost notification left behind.
/// <para>
/// Stopped (SIGTERM, a rolling deploy), an instance takes no new work, lets the work in hand run to its end
/// for up to <see cref="ExchangeOptions.ShutdownGraceSeconds"/>, and hands what it had not started back to
/// the other job-running instances with the same NOTIFY, so nothing waits for the reconciler's grace period.
/// </para>
/// </summary>
public sealed class WorkDispatcher(
    IServiceScopeFactory scopes,
    IOptions<ExchangeOptions> options,
    NpgsqlDataSource dataSource,
    IConfiguration configuration,
    TimeProvider clock,
    ILogger<WorkDispatcher> logger) : BackgroundService
{
    public const string Channel = "exchange_work";

    /// <summary>The most withdrawals one signing transaction takes.</summary>
    private const int SigningBatch = 32;

    private readonly Channel<WorkItem> _work = System.Threading.Channels.Channel.CreateUnbounded<WorkItem>(new UnboundedChannelOptions { SingleReader = false });

    /// <summary>Tapped withdrawals waiting to be signed: one signer takes all that are waiting at once.</summary>
    private readonly Channel<Guid> _toSign = System.Threading.Channels.Channel.CreateUnbounded<Guid>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Set when the host begins to stop: from then on, new work goes to the other instances.</summary>
    private volatile bool _stopping;

    /// <summary>Starts the work now: here, or on a job-running instance.</summary>
    public void Dispatch(WorkItem item)
    {
        if (options.Value.RunJobs && !_stopping)
        {
            Accept(item);
            return;
        }

        _ = NotifyAsync([item]);
    }

    private void Accept(WorkItem item)
    {
        if (item.Kind == WorkKind.SignAndBroadcast)
        {
            _toSign.Writer.TryWrite(item.Id);
        }
        else
        {
            _work.Writer.TryWrite(item);
        }
    }

    /// <summary>One NOTIFY for all of <paramref name="items"/>, delivered together at its commit.</summary>
    private async Task NotifyAsync(IReadOnlyList<WorkItem> items)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT pg_notify(@channel, payload) FROM unnest(@payloads) AS payload");
            command.Parameters.AddWithValue("channel", Channel);
            command.Parameters.AddWithValue("payloads", items.Select(i => i.ToPayload()).ToArray());
            await command.ExecuteNonQueryAsync();
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            logger.LogWarning(e, "Could not hand {Count} work items ({First}) to the job-running instances; the reconciler will take them up", items.Count, items[0]);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.RunJobs)
        {
            return;
        }

        // stoppingToken: take no new work. abort: give up on the work in hand, once the grace period is over.
        using var abort = new CancellationTokenSource();
        var grace = TimeSpan.FromSeconds(Math.Max(0, options.Value.ShutdownGraceSeconds));
        using var stopping = stoppingToken.Register(() =>
        {
            _stopping = true;
            abort.CancelAfter(grace);
        });
        var workers = Enumerable.Range(0, Math.Max(1, options.Value.DispatchWorkers)).Select(_ => WorkAsync(stoppingToken, abort.Token)).ToList();
        workers.Add(SignAsync(stoppingToken, abort.Token));
        using var listener = new WorkListener(this, configuration, clock, logger);
        workers.Add(listener.ListenAsync(stoppingToken));
        await Task.WhenAll(workers);
        await HandBackAsync();
    }

    /// <summary>At shutdown, after the work in hand: what this instance had taken but not started, to the other instances.</summary>
    private async Task HandBackAsync()
    {
        var left = new List<WorkItem>();
        while (_toSign.Reader.TryRead(out var id))
        {
            left.Add(new WorkItem(WorkKind.SignAndBroadcast, id));
        }

        while (_work.Reader.TryRead(out var item))
        {
            left.Add(item);
        }

        if (left.Count > 0)
        {
            await NotifyAsync(left);
            logger.LogInformation("Stopping: handed {Count} work items not yet started to the other job-running instances", left.Count);
        }
    }

    private async Task WorkAsync(CancellationToken stoppingToken, CancellationToken abort)
    {
        try
        {
            await foreach (var item in _work.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    // Begun before the stop: run to its end (within the grace period), not cut off halfway.
                    await using var scope = scopes.CreateAsyncScope();
                    await scope.ServiceProvider.GetRequiredKeyedService<IWorkStep>(item.Kind).RunAsync(item.Id, abort);
                }
                catch (OperationCanceledException) when (abort.IsCancellationRequested)
                {
                    // The grace period is over; the row still says what is left, and the reconciler takes it up.
                    logger.LogWarning("Stopping: {Work} was cut off after the grace period; the reconciler will finish it", item);
                    return;
                }
                catch (Exception e)
                {
                    // The row still says what is to be done: the reconciler takes it up.
                    using var scope = logger.BeginScope(item.Kind == WorkKind.SendChallenge ? LogFields.Challenge(item.Id) : LogFields.Withdrawal(item.Id));
                    logger.LogWarning(e, "{Work} failed; the reconciler will take it up", item.Kind);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Signs in batches: everything tapped since the last batch goes into the next one (one hold of the hot
    /// wallet's lock, one commit), then each is broadcast by the worker pool. A withdrawal the batch skipped
    /// (another worker had it) is signed there, one by one, as before.
    /// </summary>
    private async Task SignAsync(CancellationToken stoppingToken, CancellationToken abort)
    {
        var batch = new List<Guid>(SigningBatch);
        try
        {
            while (await _toSign.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                while (batch.Count < SigningBatch && _toSign.Reader.TryRead(out var id))
                {
                    batch.Add(id);
                }

                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    await scope.ServiceProvider.GetRequiredService<ISigningBatch>().SignAsync(batch, abort);
                }
                catch (OperationCanceledException) when (abort.IsCancellationRequested)
                {
                    // Cut off by the end of the grace period: rolled back, and handed back below with the rest.
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "Signing a batch of {Count} withdrawals failed; each is tried alone", batch.Count);
                }

                foreach (var id in batch)
                {
                    _work.Writer.TryWrite(new WorkItem(WorkKind.SignAndBroadcast, id));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Work that API-only instances committed: one LISTEN connection, reopened whenever it drops.</summary>
    private sealed class WorkListener(WorkDispatcher owner, IConfiguration configuration, TimeProvider clock, ILogger logger)
        : PostgresListener(configuration, clock, logger)
    {
        protected override string Channel => WorkDispatcher.Channel;

        protected override string ApplicationName => "exchange-work-listener";

        protected override string Description => "Work listener";

        protected override void OnNotification(string payload)
        {
            if (WorkItem.TryParse(payload, out var item))
            {
                owner.Accept(item);
            }
        }
    }
}

using Npgsql;

namespace Exchange.Api.Infrastructure.Persistence;

/// <summary>
/// One long-lived PostgreSQL LISTEN connection (<see cref="ListenConnections"/>) on one channel, handing each
/// notification's payload to <see cref="OnNotification"/>. When the connection drops it reconnects with a
/// pause that doubles up to <see cref="LongestPause"/>; when nothing arrives for a while it pings, so a dead
/// peer is noticed (TCP keepalives cover a silent network). NOTIFY is not durable: what was sent while the
/// connection was away is lost, so a subclass that cares reads it back in <see cref="OnListeningAsync"/>.
/// </summary>
public abstract class PostgresListener(IConfiguration configuration, TimeProvider clock, ILogger logger) : BackgroundService
{
    private static readonly TimeSpan IdleCheck = TimeSpan.FromSeconds(20);

    /// <summary>The NOTIFY channel; a constant identifier, as LISTEN takes no parameter.</summary>
    protected abstract string Channel { get; }

    /// <summary>The connection's application_name, as pg_stat_activity shows it.</summary>
    protected abstract string ApplicationName { get; }

    /// <summary>Names the listener in its log messages.</summary>
    protected abstract string Description { get; }

    protected virtual TimeSpan FirstPause => TimeSpan.FromSeconds(1);

    protected virtual TimeSpan LongestPause => TimeSpan.FromSeconds(30);

    /// <summary>Set once the first LISTEN is in place: tests wait for it before they rely on notifications.</summary>
    public TaskCompletionSource Listening { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Runs on the connection's reading call: it must be quick and must not throw.</summary>
    protected abstract void OnNotification(string payload);

    /// <summary>
    /// Each time LISTEN is in place, before <see cref="Listening"/> is set. <paramref name="lostAt"/> is when
    /// the connection was lost, or null the first time.
    /// </summary>
    protected virtual Task OnListeningAsync(DateTimeOffset? lostAt, CancellationToken cancellationToken) => Task.CompletedTask;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => ListenAsync(stoppingToken);

    /// <summary>Listens until <paramref name="stoppingToken"/> is cancelled; for an owner that runs it among its own tasks.</summary>
    public async Task ListenAsync(CancellationToken stoppingToken)
    {
        var connectionString = ListenConnections.For(configuration, ApplicationName);
        DateTimeOffset? lostAt = null;
        var pause = FirstPause;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                connection.Notification += (_, e) => OnNotification(e.Payload);
                await connection.OpenAsync(stoppingToken);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                await OnListeningAsync(lostAt, stoppingToken);
                if (lostAt is not null)
                {
                    logger.LogInformation("{Listener}: listening again after a lost connection.", Description);
                }

                Listening.TrySetResult();
                pause = FirstPause;
                lostAt = null;
                while (!stoppingToken.IsCancellationRequested)
                {
                    if (!await connection.WaitAsync(IdleCheck, stoppingToken))
                    {
                        // Nothing for a while: make sure the connection still answers.
                        await using var ping = new NpgsqlCommand("SELECT 1", connection);
                        await ping.ExecuteScalarAsync(stoppingToken);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or System.IO.IOException or TimeoutException or InvalidOperationException)
            {
                lostAt ??= clock.GetUtcNow();
                logger.LogWarning(ex, "{Listener}: the LISTEN connection failed; reconnecting in {Pause}.", Description, pause);
                try
                {
                    await Task.Delay(pause, clock, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LongestPause.Ticks));
            }
        }
    }
}

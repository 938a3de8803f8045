using Microsoft.Extensions.Options;

namespace VivoKey.Simulator.Validation;

/// <summary>Ends every challenge nobody acted on at its deadline with a timeout callback, and sends late callbacks when due.</summary>
public sealed class DeadlineWatcher(
    ChallengeStore store,
    CallbackDispatcher dispatcher,
    TimeProvider clock,
    IOptions<SimulatorOptions> options,
    ILogger<DeadlineWatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(10, options.Value.DeadlineScanMilliseconds)));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var now = clock.GetUtcNow();
                var deliveries = store.PendingPast(now)
                    .Where(c => c.TryEnd(ChallengeStatus.Timeout, now))
                    .Select(c => dispatcher.DispatchAsync(c, stoppingToken))
                    .Append(dispatcher.SendDueAsync(stoppingToken))
                    .ToList();
                await Task.WhenAll(deliveries);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(ex, "Deadline scan failed");
            }
        }
    }
}

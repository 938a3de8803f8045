using Exchange.Api.Bookkeeping;

namespace Exchange.Api.Infrastructure.Jobs;

/// <summary>Seals committed audit events every second, on every instance that runs jobs; one seals at a time.</summary>
public sealed class AuditSealing(IServiceScopeFactory scopes, ILogger<AuditSealing> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var chain = scope.ServiceProvider.GetRequiredService<AuditChain>();
                // A full batch means more may be waiting: go on at once.
                while (await chain.SealAsync(stoppingToken) >= AuditChain.Batch)
                {
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(ex, "Sealing the audit chain failed; trying again in a second");
            }
        }
    }
}

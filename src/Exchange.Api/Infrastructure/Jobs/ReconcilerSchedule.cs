using Hangfire;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Infrastructure.Jobs;

public sealed class ReconcilerOptions
{
    public const string Section = "Reconciler";

    /// <summary>Hangfire cron (six fields: seconds first).</summary>
    public string Cron { get; set; } = "*/15 * * * * *";

    /// <summary>How long past its deadline a challenge may wait for a late callback before it is ended here.</summary>
    public int GraceSeconds { get; set; } = 30;

    /// <summary>How long work may sit in one state before the reconciler takes it up again.</summary>
    public int StuckAfterSeconds { get; set; } = 10;

    public int BatchSize { get; set; } = 500;
}

/// <summary>
/// Registers the recurring reconciler once the host runs, trying again until it succeeds. Hangfire
/// takes a lock row for it, and an instance killed with SIGKILL leaves that row behind until its
/// timeout: registering at build time made the restarted instance die on start-up (the soak found it).
/// </summary>
public sealed class ReconcilerSchedule(IRecurringJobManager recurring, IOptions<ReconcilerOptions> options, ILogger<ReconcilerSchedule> logger) : BackgroundService
{
    public const string RecurringJobId = "reconcile";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                recurring.AddOrUpdate<IReconciliation>(RecurringJobId, r => r.RunAsync(CancellationToken.None), options.Value.Cron);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Could not register the recurring reconciler yet (a lock left by a stopped instance?); trying again in 5 s");
            }

            await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken);
        }
    }
}

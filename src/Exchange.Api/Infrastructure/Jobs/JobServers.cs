using Exchange.Api.Infrastructure.Persistence;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;

namespace Exchange.Api.Infrastructure.Jobs;

/// <summary>Hangfire's storage in PostgreSQL, and on job-running instances its two servers and the hosted workers.</summary>
public static class JobServers
{
    /// <summary>
    /// A stopping server fetches no more jobs, lets running ones finish for the grace period, then cancels them;
    /// a cancelled job goes back to its queue for another server, not to the failed list.
    /// </summary>
    private static void StopGracefully(BackgroundJobServerOptions server, ExchangeOptions exchange)
    {
        server.StopTimeout = TimeSpan.FromSeconds(Math.Max(0, exchange.ShutdownGraceSeconds));
        server.ShutdownTimeout = server.StopTimeout + TimeSpan.FromSeconds(5);
    }

    public static void Add(IServiceCollection services, string connectionString, ExchangeOptions exchange)
    {
        var storageOptions = new PostgreSqlStorageOptions
        {
            SchemaName = Migrations.JobsSchema,
            // Installed at start-up by the schema's owner (Migrations.Apply); the application's role cannot create tables.
            PrepareSchemaIfNecessary = false,
            // New work (a challenge to send, a tapped withdrawal) never waits for this poll: WorkDispatcher starts it
            // at commit. Hangfire carries retries, the reconciler's passes and what they take up again. Plain polling:
            // LISTEN/NOTIFY long polling was seen to leave jobs enqueued for tens of seconds here (and hangs for good
            // when its listener connection drops: Hangfire.PostgreSql issue 410).
            QueuePollInterval = TimeSpan.FromMilliseconds(exchange.JobPollMilliseconds),
            DistributedLockTimeout = TimeSpan.FromMinutes(1),
        };
        // Storage and job activator are this host's own services, not Hangfire's process-wide statics, so
        // two hosts in one process (the tests run several) never run each other's jobs or use each other's database.
        services.AddSingleton<JobStorage>(_ => new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, storageOptions), storageOptions));
        services.AddSingleton<JobActivator>(provider => new Hangfire.AspNetCore.AspNetCoreJobActivator(provider.GetRequiredService<IServiceScopeFactory>()));
        services.AddHangfire((provider, hangfire) => hangfire
            .UseLogProvider(new HangfireLogs(provider.GetRequiredService<ILoggerFactory>()))
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings());
        if (exchange.RunJobs)
        {
            services.AddHostedService<AuditSealing>();
            services.AddHostedService(provider => provider.GetRequiredService<WorkDispatcher>());
            services.AddHostedService<ConfirmationWatcher>();
            services.AddHostedService<ReconcilerSchedule>();
            // Two servers, two worker pools: sending challenges (a trader is waiting for the phone to buzz) never
            // queues behind signing and receipt-watching work, however much of that there is.
            services.AddHangfireServer(server =>
            {
                server.WorkerCount = exchange.WorkerCount;
                // The reconciler's passes (queue "default") are short and must not wait behind chain work either.
                server.Queues = [JobScheduler.ChallengesQueue, "default"];
                server.SchedulePollingInterval = TimeSpan.FromSeconds(1);
                server.ServerName = $"{Environment.MachineName}:{Environment.ProcessId}:challenges";
                StopGracefully(server, exchange);
            });
            services.AddHangfireServer(server =>
            {
                server.WorkerCount = exchange.WorkerCount;
                server.Queues = [JobScheduler.ChainQueue];
                server.SchedulePollingInterval = TimeSpan.FromSeconds(1);
                server.ServerName = $"{Environment.MachineName}:{Environment.ProcessId}:chain";
                StopGracefully(server, exchange);
            });
        }
    }
}

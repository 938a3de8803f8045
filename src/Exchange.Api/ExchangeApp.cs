using System.Text.Json.Serialization;
using Exchange.Api.Common;
using Exchange.Api.Common.Behaviors;
using Exchange.Api.Common.Http;
using Exchange.Api.Features.Account;
using Exchange.Api.Features.Audit;
using Exchange.Api.Features.Balances;
using Exchange.Api.Features.Challenges;
using Exchange.Api.Features.Operations;
using Exchange.Api.Features.Pages;
using Exchange.Api.Features.Requests;
using Exchange.Api.Features.Transfers;
using Exchange.Api.Features.Withdrawals;
using Exchange.Api.Infrastructure;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.Jobs;
using Exchange.Api.Infrastructure.Notifications;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.Telemetry;
using Exchange.Api.Infrastructure.VivoKey;
using Exchange.Domain.Audit;
using FluentValidation;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Exchange.Api.Bookkeeping;

namespace Exchange.Api;

public sealed class ExchangeOptions
{
    /// <summary>Apply pending EF Core migrations at start-up (the tests and `make run` rely on it).</summary>
    public bool MigrateOnStartup { get; set; } = true;

    /// <summary>Run a Hangfire server in this process. Off for API-only instances.</summary>
    public bool RunJobs { get; set; } = true;

    /// <summary>Serve the API and pages. Off for worker-only instances.</summary>
    public bool ServeApi { get; set; } = true;

    /// <summary>Where /metrics and the detailed readiness answer, beside Urls (see <see cref="ManagementPorts"/>); unset: nowhere.</summary>
    public string? ManagementUrls { get; set; }

    public int WorkerCount { get; set; } = Math.Max(4, Environment.ProcessorCount * 4);

    /// <summary>In-process workers that send new challenges and sign tapped withdrawals the moment they commit.</summary>
    public int DispatchWorkers { get; set; } = 32;

    /// <summary>Receipts looked at in parallel at each new block.</summary>
    public int ConfirmationWorkers { get; set; } = 8;

    /// <summary>How often each Hangfire worker looks for queued jobs (retries, the reconciler's work); new work does not wait for it.</summary>
    public int JobPollMilliseconds { get; set; } = 1000;

    /// <summary>
    /// How long a stopping instance lets the work in hand (a challenge being sent, a batch being signed, a
    /// broadcast) run to its end before cutting it off; what it had not begun it hands to the other instances
    /// at once. Kept below the host's shutdown timeout (<see cref="ShutdownTimeoutSeconds"/>).
    /// </summary>
    public int ShutdownGraceSeconds { get; set; } = 10;

    /// <summary>How long a stop may take in all: open requests end, Hangfire's jobs are handed back, then the process exits.</summary>
    public int ShutdownTimeoutSeconds { get; set; } = 25;

    /// <summary>
    /// Maps POST /api/dev/credit, which credits the signed-in member funds from nothing (demos, tests, the
    /// bench). Unset means on in Development and off everywhere else; Production refuses it on.
    /// </summary>
    public bool? DevCreditEndpoint { get; set; }

    /// <summary>Whether the dev credit endpoint is mapped in this environment.</summary>
    public bool DevCreditEndpointOn(IHostEnvironment environment) => DevCreditEndpoint ?? environment.IsDevelopment();

    /// <summary>How long a quiet /api/events stream waits before a ping; at least this often it checks its session is still live.</summary>
    public int EventsHeartbeatMilliseconds { get; set; } = 15_000;

    /// <summary>Test-only: a crash point to kill the process at, once (see <see cref="Infrastructure.CrashPoints"/>).</summary>
    public string? CrashAt { get; set; }

    /// <summary>Test-only: the file that records the crash happened, so the restarted process passes the point.</summary>
    public string? CrashMarker { get; set; }
}

/// <summary>Builds the exchange's host; Program runs it, and tests start it on ports of their own.</summary>
public static class ExchangeApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        Observability.Add(builder);
        var configuration = builder.Configuration;
        var services = builder.Services;
        var exchange = configuration.GetSection("Exchange").Get<ExchangeOptions>() ?? new ExchangeOptions();
        // Checked once the host is built, beside everything else Production refuses; nothing opens a connection before.
        var connectionString = configuration.GetConnectionString("Exchange") ?? "";
        var management = ManagementPorts.Listen(builder, exchange.ManagementUrls);

        services.AddSingleton(Options.Create(exchange));
        // A stop (SIGTERM from an orchestrator, Ctrl-C) waits this long for open requests and work in hand.
        services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(Math.Max(exchange.ShutdownTimeoutSeconds, exchange.ShutdownGraceSeconds + 5)));
        services.AddSingleton<Infrastructure.CrashPoints>();
        services.Configure<VivoKeyOptions>(configuration.GetSection(VivoKeyOptions.Section));
        services.Configure<EthereumOptions>(configuration.GetSection(EthereumOptions.SectionName));
        services.Configure<ReconcilerOptions>(configuration.GetSection(ReconcilerOptions.Section));
        services.Configure<RoleOptions>(configuration.GetSection(RoleOptions.Section));
        services.Configure<RefusalAuditOptions>(configuration.GetSection(RefusalAuditOptions.Section));
        services.AddOptions<RequestLimitOptions>().Bind(configuration.GetSection("Exchange")).Validate(o => o.Problem() is null, "Exchange:MaxPendingPerMember or Exchange:MinimumWithdrawal is not valid.").ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);

        services.AddSingleton(_ => Npgsql.NpgsqlDataSource.Create(connectionString));
        services.AddSingleton<WorkDispatcher>();
        services.AddDbContext<ExchangeDbContext>(db => db
            .UseNpgsql(connectionString, npgsql => npgsql.MigrationsAssembly(ExchangeDbContext.MigrationsAssembly))
            .UseSnakeCaseNamingConvention());

        // Data Protection keys in PostgreSQL, so every instance can read the tokens and cookies of the others.
        var keyProtectionProblem = DataProtectionKeys.Add(services, configuration);

        services.AddMediator(options =>
        {
            options.ServiceLifetime = ServiceLifetime.Scoped;
            options.PipelineBehaviors =
            [
                typeof(LoggingBehavior<,>),
                typeof(ValidationBehavior<,>),
                typeof(TransactionBehavior<,>),
            ];
        });
        services.AddValidatorsFromAssemblyContaining<ExchangeOptions>(ServiceLifetime.Singleton);
        services.AddExceptionHandler<ProblemDetailsExceptionHandler>();
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.Never);

        services.AddHttpClient(VivoKeyHttp.ClientName);
        services.AddSingleton<VivoKeyDiscovery>();
        if (exchange.RunJobs || exchange.ServeApi)
        {
            // Before every other hosted service, the HTTP server included: VivoKey must offer what sign-in and challenges need.
            services.AddHostedService<VivoKeyStartupCheck>();
        }

        services.AddSingleton<ChallengeKeys>();
        services.AddSingleton<ValidationApiClient>();
        services.AddScoped<MemberTokens>();
        services.AddScoped<IdempotencyKeys>();
        services.AddScoped<LedgerPostings>();
        services.AddScoped<ChallengeIssuer>();
        services.AddScoped<RequestLimits>();
        services.AddRateLimiter(_ => { }); // The limiters themselves: RateLimits.UseForSignIn and UseForMoney.
        services.AddScoped<RequestOutcomes>();
        services.AddScoped<OperatorActionExecution>();
        services.AddScoped<JobScheduler>();
        services.AddScoped<SigningEvidence>();
        services.AddScoped<AuditChain>();
        WorkSteps.Add(services);
        services.AddScoped<RoleGrants>();
        services.AddScoped<InvariantChecker>();
        services.AddSingleton<RefusalAudit>();
        // The key only where jobs run (they alone sign): an API-only instance never reads it, and knows the address from configuration.
        services.AddSingleton(provider => exchange.RunJobs
            ? new HotWallet(provider.GetRequiredService<IOptions<EthereumOptions>>())
            : throw new InvalidOperationException("This instance runs no jobs (Exchange:RunJobs=false): it never loads the hot-wallet key."));
        services.AddSingleton(provider => HotWalletAddress.Resolve(
            exchange.RunJobs, provider.GetRequiredService<IOptions<EthereumOptions>>().Value, provider.GetRequiredService<HotWallet>));
        services.AddSingleton<EthereumChain>();
        services.AddSingleton<Health.ReadinessProbe>();

        WebSession.Add(services, configuration, builder.Environment);
        JobServers.Add(services, connectionString, exchange);
        services.AddHealthChecks();
        services.AddApiReference();
        services.AddSingleton<StatusNotifications>();
        services.AddSingleton<StatusNotificationListener>();
        if (exchange.ServeApi)
        {
            services.AddHostedService(provider => provider.GetRequiredService<StatusNotificationListener>());
        }

        var app = builder.Build();
        // First, before anything reaches PostgreSQL, the chain or VivoKey: Production refuses development values.
        ProductionGuard.Check(app.Environment, configuration, app.Services);
        // Elsewhere, too: a certificate that is configured but cannot be used is never ignored.
        StartupRefusedException.ThrowIf(keyProtectionProblem);
        management.LogWhere(app, exchange.ManagementUrls);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new StartupRefusedException("ConnectionStrings:Exchange is not set: set it (ConnectionStrings__Exchange) to the application role's PostgreSQL connection string.");
        }

        Infrastructure.CrashPoints.Validate(exchange, app.Environment);
        StartupRefusedException.ThrowIf(VivoKeyStartupCheck.SettingProblem(app.Services.GetRequiredService<IOptions<VivoKeyOptions>>().Value));

        // The key is loaded now (where jobs run), not at the first signature: a missing keystore or a wrong password stops
        // start-up. An API-only instance checks its Ethereum:HotWalletAddress instead; the command-line tools, at first use.
        if (exchange.RunJobs || exchange.ServeApi)
        {
            _ = app.Services.GetRequiredService<HotWalletAddress>();
        }
        if (exchange.MigrateOnStartup)
        {
            // The schema's owner migrates and grants; the application runs as a role that cannot rewrite history.
            var owner = configuration.GetConnectionString("ExchangeOwner");
            Migrations.Apply(string.IsNullOrWhiteSpace(owner) ? connectionString : owner, connectionString,
                app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(Migrations).FullName!));
        }

        if (exchange.ServeApi)
        {
            using var scope = app.Services.CreateScope();
            // Configuration grants the compliance and operator roles; the database holds them for every instance.
            scope.ServiceProvider.GetRequiredService<RoleGrants>().ApplyToAllAsync(CancellationToken.None).GetAwaiter().GetResult();
        }

        WebSession.UseTransport(app);
        Observability.UseRequestLogFields(app);
        management.UseSeparation(app);
        // Outermost but for the log scope, so it sees the final status of every answer, the exception handler's included.
        app.Use((http, next) => RefusalAudit.MiddlewareAsync(http, () => next(http)));
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        Pages.UseAssets(app);
        RateLimits.UseForSignIn(app);
        app.UseAuthentication();
        app.UseAuthorization();
        WebSession.UseAntiForgeryHeader(app);
        RateLimits.UseForMoney(app);
        app.Use(async (http, next) =>
        {
            // Whoever is signed in is the actor of the audit events this request writes.
            if (http.User.Identity?.IsAuthenticated == true && http.User.FindFirst(ExchangeClaims.Subject)?.Value is { } subject)
            {
                http.RequestServices.GetRequiredService<ExchangeDbContext>().Actor = Actors.Member(subject);
            }

            await next(http);
        });

        Health.Map(app);
        Observability.MapMetrics(app);
        if (exchange.ServeApi)
        {
            MapApi(app, exchange);
        }

        return app;
    }

    private static void MapApi(WebApplication app, ExchangeOptions exchange)
    {
        Pages.Map(app);
        app.MapApiReference();
        RequestEvents.Map(app);
        SignIn.Map(app);
        Session.Map(app);
        GetBalances.Map(app);
        RequestWithdrawal.Map(app);
        PreviewWithdrawal.Map(app);
        GetWithdrawal.Map(app);
        ListWithdrawals.Map(app);
        CancelWithdrawal.Map(app);
        RequestTransfer.Map(app);
        PreviewTransfer.Map(app);
        GetTransfer.Map(app);
        AuditEndpoints.Map(app);
        OperationsEndpoints.Map(app);
        ApplyVivoKeyCallback.Map(app);
        if (exchange.DevCreditEndpointOn(app.Environment))
        {
            CreditDevFunds.Map(app);
        }

        // Signed out: sent to sign in; signed in without the operator or compliance role: 403. The filter checks
        // again. Compliance sees the dashboard read-only: no retrying, deleting or triggering of jobs.
        app.MapHangfireDashboard("/hangfire", new DashboardOptions
        {
            Authorization = [new OperatorDashboardFilter()],
            IsReadOnlyFunc = OperatorDashboardFilter.IsReadOnly,
            DashboardTitle = "Exchange jobs",
            DisplayStorageConnectionString = false,
        }).RequireAuthorization(policy => policy.RequireRole(Roles.Operator, Roles.Compliance));
    }
}

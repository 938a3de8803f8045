using System.Net;
using System.Net.Http.Json;
using System.Numerics;
using System.Text.Json.Nodes;
using Exchange.Api.Infrastructure.Jobs;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Nethereum.Signer;
using VivoKey.Simulator;

namespace Exchange.Api.Tests.Support;

/// <summary>
/// The whole system for one test class, all real: PostgreSQL (a fresh database), anvil (shared,
/// with a freshly funded hot wallet of this class's own so nonces never collide), the VivoKey
/// simulator and the exchange, each on its own loopback port, talking HTTP to each other.
/// </summary>
public class ExchangeFixture : IAsyncLifetime
{
    public const string ClientId = "exchange-test";
    public const string ClientSecret = "exchange-test-secret";
    public static readonly BigInteger Ether = BigInteger.Pow(10, 18);

    private WebApplication? _simulator;
    private WebApplication? _exchange;

    public ExchangeFixture()
    {
        ChoosePorts();
        var key = EthECKey.GenerateKey();
        HotWalletKey = key.GetPrivateKey();
        HotWalletAddress = key.GetPublicAddress();
    }

    private void ChoosePorts()
    {
        ExchangeUrl = $"http://127.0.0.1:{FreePort.Next()}";
        ManagementUrl = $"http://127.0.0.1:{FreePort.Next()}";
        SimulatorUrl = $"http://127.0.0.1:{FreePort.Next()}";
    }

    public string ExchangeUrl { get; private set; } = "";

    /// <summary>The in-process exchange's management port (Exchange:ManagementUrls): /metrics and the detailed readiness.</summary>
    public string ManagementUrl { get; private set; } = "";
    public string SimulatorUrl { get; private set; } = "";
    public string HotWalletKey { get; }
    public string HotWalletAddress { get; }
    public OffsetClock Clock { get; } = new();
    public AnvilNode Anvil { get; private set; } = null!;
    /// <summary>The exchange's own connection: the role that cannot change or delete audit events.</summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>The schema owner, a superuser: migrations, and tests that tamper behind the application's back.</summary>
    public string OwnerConnectionString { get; private set; } = "";

    public const string ApplicationRole = "exchange_app";

    /// <summary>The simulator's controls (no redirects followed).</summary>
    public HttpClient Simulator { get; private set; } = null!;

    public IServiceProvider Services => _exchange!.Services;

    /// <summary>What the in-process exchange logged at Error and above, for a test that meets a 500.</summary>
    public ServerErrors Errors { get; } = new();

    /// <summary>True when the exchange runs in this process (its errors are in <see cref="Errors"/>).</summary>
    public bool HasExchangeInProcess => _exchange is not null;

    /// <summary>Settings a class may change before the exchange starts.</summary>
    protected virtual void Configure(IDictionary<string, string?> exchange)
    {
    }

    /// <summary>The in-process exchange's host, for a class that adds services of its own (a logging provider, say).</summary>
    protected virtual void ConfigureHost(WebApplicationBuilder builder)
    {
    }

    /// <summary>Simulator settings a class may change before it starts.</summary>
    protected virtual void ConfigureSimulator(IDictionary<string, string?> simulator)
    {
    }

    public async Task InitializeAsync()
    {
        Anvil = OwnsAnvil ? await AnvilNode.StartAsync() : await AnvilNode.Shared;
        OwnerConnectionString = await MigratedTemplate.CopyAsync("exchange");
        ConnectionString = new Npgsql.NpgsqlConnectionStringBuilder(OwnerConnectionString) { Username = ApplicationRole }.ConnectionString;
        await Anvil.SetBalanceAsync(HotWalletAddress, 1000 * Ether);

        // A port chosen free may be taken before our server binds it: then start again on others.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await StartHostsAsync();
                Simulator = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(SimulatorUrl) };
                return;
            }
            catch (Exception ex) when (attempt < 5 && FreePort.IsAddressInUse(ex))
            {
                await StopHostsAsync();
                ChoosePorts();
            }
        }
    }

    private async Task StartHostsAsync()
    {
        var simulatorSettings = new Dictionary<string, string?>
        {
                ["Urls"] = SimulatorUrl,
                ["Simulator:PublicUrl"] = SimulatorUrl,
                ["Simulator:AutoTap"] = "true",
                ["Simulator:DeadlineScanMilliseconds"] = "50",
                ["Simulator:Clients:0:ClientId"] = ClientId,
                ["Simulator:Clients:0:ClientSecret"] = ClientSecret,
                ["Simulator:Clients:0:DisplayName"] = "Exchange under test",
                ["Simulator:Clients:0:RedirectUris:0"] = ExchangeUrl + "/signin-oidc",
                ["Simulator:Clients:0:CallbackUrls:0"] = ExchangeUrl + "/vivokey/callback",
        };
        ConfigureSimulator(simulatorSettings);
        _simulator = SimulatorApp.Build([], builder =>
        {
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection(simulatorSettings);
            builder.Logging.ClearProviders();
        });
        await _simulator.StartAsync();

        if (!StartsExchangeInProcess)
        {
            return;
        }

        var settings = ExchangeSettings();
        // The in-process host's own; a process a test starts beside it names its own management port, if any.
        settings.TryAdd("Exchange:ManagementUrls", ManagementUrl);
        _exchange = ExchangeApp.Build(["--environment", "Development"], builder =>
        {
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Services.AddSingleton<TimeProvider>(Clock);
            // EXCHANGE_TEST_LOGS=1 shows the exchange's warnings and errors on the console.
            if (Environment.GetEnvironmentVariable("EXCHANGE_TEST_LOGS") != "1")
            {
                builder.Logging.ClearProviders();
            }

            builder.Logging.AddProvider(Errors);
            ConfigureHost(builder);
        });
        await _exchange.StartAsync();
    }

    /// <summary>True for a class that stops mining or rewinds the chain: it gets an anvil of its own.</summary>
    protected virtual bool OwnsAnvil => false;

    /// <summary>False for a class that runs the exchange as real OS processes (see <see cref="ExchangeProcess"/>).</summary>
    protected virtual bool StartsExchangeInProcess => true;

    /// <summary>The exchange's settings for this system: the in-process host's, or a process's environment.</summary>
    public Dictionary<string, string?> ExchangeSettings()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Urls"] = ExchangeUrl,
            ["ConnectionStrings:Exchange"] = ConnectionString,
            ["ConnectionStrings:ExchangeOwner"] = OwnerConnectionString,
            ["Exchange:WorkerCount"] = "2",
            ["VivoKey:Authority"] = SimulatorUrl + "/openid",
            ["VivoKey:ValidationEndpoint"] = SimulatorUrl + "/v1.0/validate/",
            ["VivoKey:CallbackUrl"] = ExchangeUrl + "/vivokey/callback",
            ["VivoKey:ClientId"] = ClientId,
            ["VivoKey:ClientSecret"] = ClientSecret,
            ["VivoKey:ChallengeTimeoutSeconds"] = "60",
            ["Ethereum:RpcUrl"] = Anvil.RpcUrl,
            ["Ethereum:ChainId"] = "31337",
            ["Ethereum:Confirmations"] = "1",
            ["Ethereum:HotWalletPrivateKey"] = HotWalletKey,
            // What an API-only instance (Exchange:RunJobs=false) knows of the wallet: it never loads the key.
            ["Ethereum:HotWalletAddress"] = HotWalletAddress,
            // Yearly: tests run the reconciler themselves, at the moment they choose.
            ["Reconciler:Cron"] = "0 0 1 1 *",
            ["Reconciler:GraceSeconds"] = "30",
            ["Roles:Operators:0"] = "operator-1",
            // Tests post many refused requests from one address; the rate limit has a test class of its own.
            ["RefusalAudit:PerKeyPerMinute"] = "1000",
            ["RefusalAudit:PerMinute"] = "10000",
            // Tests, the soak and the crash runs send many requests per trader at once; AbuseLimitTests runs the real defaults.
            ["RateLimits:MoneyPerMemberPerMinute"] = "100000",
            ["RateLimits:PreviewsPerMemberPerMinute"] = "100000",
            ["RateLimits:MoneyPerAddressPerMinute"] = "1000000",
            ["RateLimits:SignInPerAddressPerMinute"] = "100000",
            ["Exchange:MaxPendingPerMember"] = "100000",
            ["Exchange:MinimumWithdrawal:ETH"] = "0.000000000000000001",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Exchange"] = "Information",
        };
        Configure(settings);
        return settings;
    }

    public virtual async Task DisposeAsync()
    {
        await StopHostsAsync();
        Simulator?.Dispose();
        if (OwnsAnvil && Anvil is not null)
        {
            await Anvil.DisposeAsync();
        }
    }

    private async Task StopHostsAsync()
    {
        if (_exchange is not null)
        {
            await _exchange.StopAsync();
            await _exchange.DisposeAsync();
            _exchange = null;
        }

        if (_simulator is not null)
        {
            await _simulator.DisposeAsync();
            _simulator = null;
        }
    }

    /// <summary>A new VivoKey member, signed in through the real OIDC flow (AutoTap), with the email they gave VivoKey (unverified).</summary>
    public async Task<Trader> NewTraderAsync(string? name = null, string? subject = null, string? email = null)
    {
        subject ??= "vk-" + Guid.NewGuid().ToString("N")[..12];
        name ??= "Trader " + subject[3..9];
        email ??= subject + "@example.test";
        using (var created = await Simulator.PostAsJsonAsync("/simulator/members", new { subject, name, email }))
        {
            // 409: a member of a fixed subject (an officer, say) signing in again.
            if (created.StatusCode != HttpStatusCode.Conflict)
            {
                created.EnsureSuccessStatusCode();
            }
        }

        var trader = new Trader(this, subject, email);
        await trader.SignInAsync();
        return trader;
    }

    public async Task<T> InScopeAsync<T>(Func<ExchangeDbContext, IServiceProvider, Task<T>> work)
    {
        await using var scope = Services.CreateAsyncScope();
        return await work(scope.ServiceProvider.GetRequiredService<ExchangeDbContext>(), scope.ServiceProvider);
    }

    public Task<Exchange.Api.Features.Requests.Reconcile.Report> RunReconcilerAsync() =>
        InScopeAsync((_, services) => services.GetRequiredService<Exchange.Api.Features.Requests.Reconcile>().RunAsync(CancellationToken.None));

    /// <summary>The simulator's pending challenge for a member, once the exchange has sent it.</summary>
    public async Task<JsonObject> PendingChallengeAsync(string subject, double seconds = 20)
    {
        try
        {
            return (await Poll.UntilAsync(
                async () => (await Simulator.GetFromJsonAsync<JsonArray>($"/simulator/challenges?member={subject}&status=pending"))!,
                list => list.Count > 0, $"a pending challenge for {subject}", seconds))[0]!.AsObject();
        }
        catch (TimeoutException timeout)
        {
            throw new TimeoutException($"{timeout.Message}\nExchange side: {await DescribeJobsAsync()}", timeout);
        }
    }

    /// <summary>What the exchange's challenges and Hangfire jobs look like, for a failure message.</summary>
    public Task<string> DescribeJobsAsync() => InScopeAsync(async (db, _) =>
    {
        var challenges = await db.Challenges.AsNoTracking().OrderByDescending(c => c.CreatedAt).Take(3)
            .Select(c => $"{c.State} attempts={c.SendAttempts} error={c.LastSendError}").ToListAsync();
        var jobs = await db.Database.SqlQueryRaw<string>(
            "SELECT j.id || ' ' || j.statename || ' ' || coalesce(j.invocationdata->>'Type', '') || ' ' || coalesce(j.arguments::text, '') AS \"Value\" FROM hangfire.job j ORDER BY j.id DESC LIMIT 8").ToListAsync();
        var queue = await db.Database.SqlQueryRaw<string>(
            "SELECT q.jobid || ' ' || q.queue || ' fetched=' || coalesce(q.fetchedat::text, '-') AS \"Value\" FROM hangfire.jobqueue q").ToListAsync();
        var servers = await db.Database.SqlQueryRaw<string>(
            "SELECT s.id || ' ' || s.lastheartbeat::text || ' now=' || now()::text AS \"Value\" FROM hangfire.server s").ToListAsync();
        var activity = await db.Database.SqlQueryRaw<string>(
            "SELECT coalesce(state, '') || ' ' || coalesce(wait_event_type, '') || '/' || coalesce(wait_event, '') || ' ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS \"Value\" FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()").ToListAsync();
        var locks = await db.Database.SqlQueryRaw<string>(
            "SELECT resource || ' ' || acquired::text AS \"Value\" FROM hangfire.lock").ToListAsync();
        return $"locks: [{string.Join("; ", locks)}]\nactivity ({activity.Count}): [{string.Join("; ", activity)}]\nchallenges: [{string.Join("; ", challenges)}]\njobs: [{string.Join("; ", jobs)}]\nqueue: [{string.Join("; ", queue)}]\nservers: [{string.Join("; ", servers)}]";
    });

    public async Task<HttpStatusCode> TapAsync(string vivoId, string action = "tap")
    {
        using var response = await Simulator.PostAsync($"/simulator/challenges/{vivoId}/{action}", null);
        return response.StatusCode;
    }

    public async Task SimulatorFaultAsync(object plan, string member)
    {
        using var response = await Simulator.PostAsJsonAsync("/simulator/faults", new { member, remaining = 1, plan });
        response.EnsureSuccessStatusCode();
    }

    public static string NewAddress() => EthECKey.GenerateKey().GetPublicAddress();
}

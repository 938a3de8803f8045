using Exchange.Api.Infrastructure;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.VivoKey;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Features.Account;

/// <summary>
/// Liveness (the process answers) and readiness (PostgreSQL, the chain node and the IdP answer), on the public
/// and the management port. The public readiness is a bare status; only the management port names each check
/// and its error, which can hold host names, addresses and library internals.
/// </summary>
public static class Health
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/health/live", () => Results.Ok(new { status = "live" })).AllowAnonymous().WithMetadata(new ManagementPorts.AnyPort())
            .WithTags("Health").WithSummary("Liveness");
        app.MapGet("/health/ready", async (HttpContext request, ManagementPorts management, ReadinessProbe probe, CancellationToken ct) =>
        {
            // The management port is private and asked for detail: probed afresh. The public one is anonymous: one
            // probe serves every caller for a few seconds, so a flood of readiness requests is not a flood on our dependencies.
            var detailed = management.Serves(request);
            var checks = detailed ? await probe.ProbeAsync(ct) : await probe.RecentAsync(ct);
            var ready = checks.Values.All(v => v == "ok");
            var status = ready ? "ready" : "not_ready";
            var code = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            return detailed ? Results.Json(new { status, checks }, statusCode: code) : Results.Json(new { status }, statusCode: code);
        }).AllowAnonymous().WithMetadata(new ManagementPorts.AnyPort())
            .WithTags("Health").WithSummary("Readiness: PostgreSQL, the chain node and the IdP");
    }

    /// <summary>The readiness checks, and the public answer's cache of them: one probe at a time, reused for <see cref="Freshness"/>.</summary>
    public sealed class ReadinessProbe(IServiceScopeFactory scopes, EthereumChain chain, IHttpClientFactory http, IOptions<VivoKeyOptions> vivoKey, TimeProvider clock)
    {
        public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(5);

        private sealed record Result(DateTimeOffset At, IReadOnlyDictionary<string, string> Checks);

        private readonly SemaphoreSlim _one = new(1, 1);
        private volatile Result? _last;
        private long _probes;

        /// <summary>How many times the dependencies were probed since start.</summary>
        public long Probes => Interlocked.Read(ref _probes);

        /// <summary>The last probe's checks if younger than <see cref="Freshness"/>; otherwise a new probe, which concurrent callers wait for and share.</summary>
        public async Task<IReadOnlyDictionary<string, string>> RecentAsync(CancellationToken cancellationToken)
        {
            if (Fresh(_last) is { } recent)
            {
                return recent;
            }

            await _one.WaitAsync(cancellationToken);
            try
            {
                if (Fresh(_last) is { } meanwhile)
                {
                    return meanwhile;
                }

                // Not the caller's token: a caller who hangs up must not leave a failed probe behind for the others.
                var checks = await ProbeAsync(CancellationToken.None);
                _last = new Result(clock.GetUtcNow(), checks);
                return checks;
            }
            finally
            {
                _one.Release();
            }
        }

        private IReadOnlyDictionary<string, string>? Fresh(Result? last) =>
            last is not null && clock.GetUtcNow() - last.At < Freshness && clock.GetUtcNow() >= last.At ? last.Checks : null;

        /// <summary>PostgreSQL, the node and VivoKey's discovery document, now, within five seconds.</summary>
        public async Task<IReadOnlyDictionary<string, string>> ProbeAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _probes);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ExchangeDbContext>();
            return new Dictionary<string, string>
            {
                ["postgres"] = await Check(() => db.Database.ExecuteSqlRawAsync("SELECT 1", timeout.Token)),
                ["chain"] = await Check(() => chain.GetChainIdAsync(timeout.Token)),
                ["idp"] = await Check(() => http.CreateClient(VivoKeyHttp.ClientName)
                    .GetStringAsync(vivoKey.Value.Authority.TrimEnd('/') + "/.well-known/openid-configuration", timeout.Token)),
            };
        }
    }

    private static async Task<string> Check(Func<Task> probe)
    {
        try
        {
            await probe();
            return "ok";
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return ex.GetType().Name + ": " + ex.Message;
        }
    }
}

using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.VivoKey;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Features.Account;

/// <summary>Liveness (the process answers) and readiness (PostgreSQL, the chain node and the IdP answer).</summary>
public static class Health
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/health/live", () => Results.Ok(new { status = "live" })).AllowAnonymous();
        app.MapGet("/health/ready", async (ExchangeDbContext db, EthereumChain chain, IHttpClientFactory http, IOptions<VivoKeyOptions> vivoKey, CancellationToken ct) =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            var checks = new Dictionary<string, string>
            {
                ["postgres"] = await Check(() => db.Database.ExecuteSqlRawAsync("SELECT 1", timeout.Token)),
                ["chain"] = await Check(() => chain.GetChainIdAsync(timeout.Token)),
                ["idp"] = await Check(() => http.CreateClient(VivoKeyHttp.ClientName)
                    .GetStringAsync(vivoKey.Value.Authority.TrimEnd('/') + "/.well-known/openid-configuration", timeout.Token)),
            };
            var ready = checks.Values.All(v => v == "ok");
            return Results.Json(new { status = ready ? "ready" : "not_ready", checks }, statusCode: ready ? 200 : 503);
        }).AllowAnonymous();
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

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
        app.MapGet("/health/live", () => Results.Ok(new { status = "live" })).AllowAnonymous().WithMetadata(new ManagementPorts.AnyPort());
        app.MapGet("/health/ready", async (HttpContext request, ManagementPorts management, ExchangeDbContext db, EthereumChain chain, IHttpClientFactory http, IOptions<VivoKeyOptions> vivoKey, CancellationToken ct) =>
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
            var status = ready ? "ready" : "not_ready";
            var code = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            return management.Serves(request) ? Results.Json(new { status, checks }, statusCode: code) : Results.Json(new { status }, statusCode: code);
        }).AllowAnonymous().WithMetadata(new ManagementPorts.AnyPort());
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

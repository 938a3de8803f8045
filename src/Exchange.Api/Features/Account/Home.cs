using System.Net;
using System.Security.Claims;
using Exchange.Api.Common;

namespace Exchange.Api.Features.Account;

/// <summary>The landing page: who is signed in, and where the API and the dashboard are.</summary>
public static class Home
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/", (ClaimsPrincipal user, string? signin_error) =>
        {
            var signedIn = user.Identity?.IsAuthenticated == true;
            var who = signedIn
                ? $"Signed in as <strong>{WebUtility.HtmlEncode(user.FindFirstValue(ExchangeClaims.Name))}</strong> ({WebUtility.HtmlEncode(user.FindFirstValue(ExchangeClaims.Email))}). " +
                  "<form method=\"post\" action=\"/logout\" style=\"display:inline\"><button>Sign out</button></form>"
                : "<a href=\"/login\">Log in with VivoKey</a>";
            var error = signin_error is null ? "" : $"<p role=\"alert\" style=\"color:#b00020\">Sign-in failed: {WebUtility.HtmlEncode(signin_error)}</p>";
            var html = $$"""
                <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Exchange</title>
                <meta name="viewport" content="width=device-width, initial-scale=1">
                <style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}</style></head>
                <body><h1>Exchange</h1>{{error}}<p>{{who}}</p>
                <ul><li><a href="/api/me">/api/me</a></li><li><a href="/api/balances">/api/balances</a></li>
                <li><a href="/api/withdrawals">/api/withdrawals</a></li><li><a href="/hangfire">/hangfire</a> (operators)</li>
                <li><a href="/health/ready">/health/ready</a></li></ul></body></html>
                """;
            return Results.Content(html, "text/html; charset=utf-8");
        }).AllowAnonymous();
}

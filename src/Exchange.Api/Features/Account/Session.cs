using System.Security.Claims;
using Exchange.Api.Common;

namespace Exchange.Api.Features.Account;

/// <summary>
/// <c>GET /api/session</c>: whether anyone is signed in, and who. The pages ask it first; unlike
/// <c>/api/me</c> it answers 200 to a visitor, so opening a page signed out is not an access refusal
/// in the audit trail.
/// </summary>
public static class Session
{
    public sealed record View(bool SignedIn, SignIn.Me? Member);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/api/session", (ClaimsPrincipal user) =>
            user.Identity?.IsAuthenticated == true && user.FindFirstValue(ExchangeClaims.Subject) is { } subject
                ? new View(true, SignIn.Me.Of(user, subject))
                : new View(false, null)).AllowAnonymous()
            .WithTags("Account").WithSummary("Whether anyone is signed in, and who")
            .WithDescription("200 for visitors too: `{ signedIn: false, member: null }`.");
}

using System.Security.Claims;
using Exchange.Api.Common;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.VivoKey;
using Exchange.Domain.Audit;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Features.Account;

public sealed class RoleOptions
{
    public const string Section = "Roles";

    /// <summary>VivoKey subjects or emails granted the compliance role.</summary>
    public List<string> Compliance { get; set; } = [];

    /// <summary>VivoKey subjects or emails granted the operator role (the Hangfire dashboard).</summary>
    public List<string> Operators { get; set; } = [];
}

/// <summary>
/// "Log in with VivoKey": the OIDC code flow with PKCE. The first sign-in creates the member; the
/// VivoKey tokens are stored encrypted for the Validation API; a cookie session follows.
/// </summary>
public static class SignIn
{
    public sealed record Me(string Subject, string Name, string Email, IReadOnlyList<string> Roles);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/login", (string? returnUrl, string? login_hint) =>
        {
            var properties = new AuthenticationProperties { RedirectUri = SafeReturnUrl(returnUrl) };
            if (!string.IsNullOrWhiteSpace(login_hint))
            {
                properties.Items["login_hint"] = login_hint;
            }

            return Results.Challenge(properties, [OpenIdConnectDefaults.AuthenticationScheme]);
        }).AllowAnonymous();

        // The cookie handler removes the session from the store: a copy of the cookie is worth nothing afterwards.
        app.MapPost("/logout", async (HttpContext http) =>
        {
            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.NoContent();
        }).RequireAuthorization();

        app.MapGet("/api/me", (ClaimsPrincipal user) => new Me(
            user.Subject(),
            user.FindFirstValue(ExchangeClaims.Name) ?? "",
            user.FindFirstValue(ExchangeClaims.Email) ?? "",
            user.FindAll(ExchangeClaims.Role).Select(c => c.Value).ToList())).RequireAuthorization();
    }

    /// <summary>Only local paths: a sign-in must not become an open redirect.</summary>
    private static string SafeReturnUrl(string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && returnUrl.StartsWith('/') && !returnUrl.StartsWith("//", StringComparison.Ordinal) && !returnUrl.StartsWith("/\\", StringComparison.Ordinal)
            ? returnUrl
            : "/";

    /// <summary>Wires the OIDC handler's events: pass login_hint on; on success create the member and keep the tokens.</summary>
    public static void Configure(OpenIdConnectOptions oidc, VivoKeyOptions vivoKey)
    {
        oidc.Authority = vivoKey.Authority;
        oidc.ClientId = vivoKey.ClientId;
        oidc.ClientSecret = vivoKey.ClientSecret;
        oidc.RequireHttpsMetadata = vivoKey.Authority.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        oidc.ResponseType = "code";
        oidc.UsePkce = true;
        oidc.Scope.Clear();
        foreach (var scope in new[] { "openid", "profile", "email", "Validate" })
        {
            oidc.Scope.Add(scope);
        }

        oidc.MapInboundClaims = false;
        oidc.GetClaimsFromUserInfoEndpoint = true;
        oidc.SaveTokens = false;
        // RS256 only: accepting HS256 too would invite algorithm confusion.
        oidc.TokenValidationParameters.ValidAlgorithms = ["RS256"];
        oidc.TokenValidationParameters.NameClaimType = ExchangeClaims.Name;
        oidc.TokenValidationParameters.RoleClaimType = ExchangeClaims.Role;
        if (!oidc.RequireHttpsMetadata)
        {
            // Plain http on loopback in development: the handler's own cookies must not demand https.
            oidc.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            oidc.CorrelationCookie.SameSite = SameSiteMode.Lax;
            oidc.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            oidc.NonceCookie.SameSite = SameSiteMode.Lax;
        }

        oidc.Events.OnRedirectToIdentityProvider = context =>
        {
            if (context.Properties.Items.TryGetValue("login_hint", out var hint) && !string.IsNullOrWhiteSpace(hint))
            {
                context.ProtocolMessage.LoginHint = hint;
            }

            return Task.CompletedTask;
        };
        oidc.Events.OnUserInformationReceived = OnSignedInAsync;
        oidc.Events.OnRemoteFailure = context =>
        {
            context.Response.Redirect("/?signin_error=" + Uri.EscapeDataString(context.Failure?.Message ?? "sign-in failed"));
            context.HandleResponse();
            return Task.CompletedTask;
        };
    }

    private static async Task OnSignedInAsync(UserInformationReceivedContext context)
    {
        var services = context.HttpContext.RequestServices;
        var db = services.GetRequiredService<ExchangeDbContext>();
        var tokens = services.GetRequiredService<MemberTokens>();
        var grants = services.GetRequiredService<RoleGrants>();
        var clock = services.GetRequiredService<TimeProvider>();
        var ct = context.HttpContext.RequestAborted;

        var principal = context.Principal!;
        var subject = principal.FindFirstValue(ExchangeClaims.Subject) ?? throw new InvalidOperationException("The ID token has no subject.");
        var user = context.User.RootElement;
        string Claim(string name) => user.TryGetProperty(name, out var v) && v.ValueKind == System.Text.Json.JsonValueKind.String
            ? v.GetString()!
            : principal.FindFirstValue(name) ?? "";
        var name = Claim(ExchangeClaims.Name);
        var email = Claim(ExchangeClaims.Email);
        var now = clock.GetUtcNow();

        db.Actor = Actors.Member(subject);
        await db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO members (id, subject, name, email, created_at, last_sign_in_at)
            VALUES ({Guid.CreateVersion7()}, {subject}, {name}, {email}, {now}, {now})
            ON CONFLICT (subject) DO UPDATE SET name = excluded.name, email = excluded.email, last_sign_in_at = excluded.last_sign_in_at
            """, ct);
        var member = await db.Members.AsNoTracking().SingleAsync(m => m.Subject == subject, ct);
        db.Audit("member.signed_in", $"member:{member.Id}", new { subject }, now);

        var response = context.ProtocolMessage;
        var expiresIn = int.TryParse(response.ExpiresIn, out var seconds) ? seconds : 3600;
        await tokens.StoreAsync(member.Id, response.AccessToken, response.RefreshToken, now.AddSeconds(expiresIn), ct);

        var identity = (ClaimsIdentity)principal.Identity!;
        identity.AddClaim(new Claim(ExchangeClaims.MemberId, member.Id.ToString()));
        foreach (var role in await grants.ApplyAsync(member.Id, subject, email, ct))
        {
            identity.AddClaim(new Claim(ExchangeClaims.Role, role));
        }

        RoleGrants.MarkChecked(context.Properties!.Items, now);
    }

    /// <summary>Roles come from configuration, never from the client.</summary>
    public static IEnumerable<string> RolesOf(string subject, string email, RoleOptions roles)
    {
        yield return Roles.Trader;
        bool Listed(List<string> list) => list.Any(entry => entry == subject || (email.Length > 0 && string.Equals(entry, email, StringComparison.OrdinalIgnoreCase)));
        if (Listed(roles.Compliance))
        {
            yield return Roles.Compliance;
        }

        if (Listed(roles.Operators))
        {
            yield return Roles.Operator;
        }
    }
}

using System.Security.Claims;
using System.Text;
using Exchange.Api.Common;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.VivoKey;
using Exchange.Domain.Audit;
using Exchange.Domain.Common;
using Exchange.Domain.Members;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Exchange.Api.Features.Account;

/// <summary>
/// "Log in with VivoKey": the OIDC code flow with PKCE. The first sign-in creates the member; the
/// VivoKey tokens are stored encrypted for the Validation API; a cookie session follows.
/// </summary>
public static class SignIn
{
    /// <summary>Who is signed in: <c>handle</c> is the account handle others transfer to; name and email are shown cleaned.</summary>
    public sealed record Me(string Subject, string Handle, string Name, string Email, IReadOnlyList<string> Roles)
    {
        public static Me Of(ClaimsPrincipal user, string subject) => new(
            subject,
            user.FindFirstValue(ExchangeClaims.Handle) ?? "",
            DisplayText.Clean(user.FindFirstValue(ExchangeClaims.Name)),
            DisplayText.Clean(user.FindFirstValue(ExchangeClaims.Email), 320),
            user.FindAll(ExchangeClaims.Role).Select(c => c.Value).ToList());
    }

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
        }).AllowAnonymous()
            .WithTags("Account").WithSummary("Start \"Log in with VivoKey\"")
            .WithDescription("Sends the browser to VivoKey (OpenID Connect code flow with PKCE). `login_hint` is passed on; `returnUrl` must be a local path.");

        // The cookie handler removes the session from the store: a copy of the cookie is worth nothing afterwards.
        app.MapPost("/logout", async (HttpContext http) =>
        {
            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.NoContent();
        }).RequireAuthorization()
            .WithTags("Account").WithSummary("End the session")
            .WithDescription("204. The session ends on the server: a copy of the cookie is refused afterwards.");

        app.MapGet("/api/me", (ClaimsPrincipal user) => Me.Of(user, user.Subject())).RequireAuthorization()
            .WithTags("Account").WithSummary("The signed-in member: subject, account handle, name, email and roles");
    }

    /// <summary>
    /// Only local paths: a sign-in must not become an open redirect. Browsers drop tabs and line breaks from a
    /// Location and read a backslash as a slash, so <c>/%09/evil.example</c> and <c>/\evil</c> are <c>//evil…</c>
    /// to them: only printable ASCII without a backslash, starting with one slash, stays; anything else is <c>/</c>.
    /// </summary>
    internal static string SafeReturnUrl(string? returnUrl) =>
        returnUrl is { Length: > 0 and <= 2048 } && returnUrl[0] == '/' && (returnUrl.Length == 1 || returnUrl[1] != '/')
            && returnUrl.All(c => c is > ' ' and < '\x7f' and not '\\')
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
        // Name and email reach the session cleaned, from OnSignedInAsync; the raw userinfo values must not follow them in.
        oidc.ClaimActions.Remove(ExchangeClaims.Name);
        oidc.ClaimActions.Remove(ExchangeClaims.Email);
        oidc.SaveTokens = false;
        // Exactly one algorithm (VivoKey:IdTokenAlgorithm), never "none": accepting both would invite algorithm confusion.
        // HS256 is keyed with our client secret alone, never a JWKS key; RS256 takes only the JWKS keys.
        oidc.TokenValidationParameters.ValidAlgorithms = [vivoKey.IdTokenAlgorithm];
        oidc.TokenValidationParameters.RequireSignedTokens = true;
        if (vivoKey.IdTokenAlgorithm == VivoKeyOptions.Hs256)
        {
            var secret = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(vivoKey.ClientSecret));
            oidc.TokenValidationParameters.IssuerSigningKeyResolver = (_, _, _, _) => [secret];
        }
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
        var member = await MemberRecords.RecordSignInAsync(db, subject, name, email, now, AccountHandle.New, ct);
        db.Audit("member.signed_in", $"member:{member.Id}", new { subject }, now);

        var response = context.ProtocolMessage;
        var expiresIn = int.TryParse(response.ExpiresIn, out var seconds) ? seconds : 3600;
        await tokens.StoreAsync(member.Id, response.AccessToken, response.RefreshToken, now.AddSeconds(expiresIn), ct);

        var identity = (ClaimsIdentity)principal.Identity!;
        identity.AddClaim(new Claim(ExchangeClaims.MemberId, member.Id.ToString()));
        identity.AddClaim(new Claim(ExchangeClaims.Handle, member.Handle));
        // The session carries the cleaned name and email, as stored, not VivoKey's raw claims.
        foreach (var (type, value) in new[] { (ExchangeClaims.Name, member.Name), (ExchangeClaims.Email, member.Email) })
        {
            foreach (var raw in identity.FindAll(type).ToList())
            {
                identity.RemoveClaim(raw);
            }

            identity.AddClaim(new Claim(type, value));
        }
        foreach (var role in await grants.ApplyAsync(member.Id, subject, email, ct))
        {
            identity.AddClaim(new Claim(ExchangeClaims.Role, role));
        }

        RoleGrants.MarkChecked(context.Properties!.Items, now);
    }

    /// <summary>Roles come from configuration, never from the client, and only by VivoKey subject: the email is unverified.</summary>
    public static IEnumerable<string> RolesOf(string subject, RoleOptions roles)
    {
        yield return Roles.Trader;
        bool Listed(List<string> list) => subject.Length > 0 && RoleOptions.IsSubject(subject) && list.Any(entry => entry == subject);
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

using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using VivoKey.Simulator.Infrastructure;
using VivoKey.Simulator.Validation;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace VivoKey.Simulator.Identity;

/// <summary>
/// The member's side of the sign-in: "Tap your VivoKey", then the consent page naming the client
/// and each requested claim, Accept or Deny. OpenIddict has already validated the request
/// (client, redirect URI, PKCE) before this runs.
/// </summary>
public static class AuthorizeEndpoint
{
    public const string Path = "/openid/authorize/";

    // Fields of our own pages, carried beside the OIDC parameters; never echoed back as parameters.
    private const string StepField = "vk_step";
    private const string MemberField = "vk_member";
    private const string TicketField = "vk_ticket";
    private const string DecisionField = "vk_decision";

    private static readonly TimeSpan TicketLifetime = TimeSpan.FromMinutes(10);

    public static readonly IReadOnlyDictionary<string, string> ClaimDescriptions = new Dictionary<string, string>
    {
        [Scopes.OpenId] = "Sign you in with your VivoKey identity (your VivoKey member id)",
        [Scopes.Profile] = "Your full name (unverified)",
        [Scopes.Email] = "Your email address (unverified)",
        [ValidateEndpoint.ValidateScope] = "Ask you to confirm actions by tapping your VivoKey",
    };

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapMethods(Path, ["GET", "POST"], HandleAsync);

    private static async Task<IResult> HandleAsync(
        HttpContext http,
        MemberDirectory members,
        ClientRegistry clients,
        IDataProtectionProvider protection,
        TimeProvider clock,
        Behaviours behaviours,
        Microsoft.Extensions.Options.IOptions<SimulatorOptions> options)
    {
        var request = http.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenID Connect request cannot be retrieved.");
        var tickets = protection.CreateProtector("VivoKey.Simulator.TapTicket");
        var form = http.Request.HasFormContentType ? await http.Request.ReadFormAsync(http.RequestAborted) : null;
        var step = form?[StepField].ToString();

        if (string.IsNullOrEmpty(step))
        {
            var hinted = members.FindByHint(request.LoginHint);
            if (options.Value.AutoTap && hinted is not null)
            {
                return SignIn(hinted, request, behaviours.IssueRefreshTokens);
            }

            return TapPage(request, members, hinted, error: null);
        }

        if (step == "tap")
        {
            var member = members.FindByHint(form![MemberField].ToString());
            if (member is null)
            {
                return TapPage(request, members, null, error: "No VivoKey member by that id or email.");
            }

            var ticket = tickets.Protect($"{member.Subject}|{clock.GetUtcNow().Add(TicketLifetime).ToUnixTimeSeconds()}");
            return ConsentPage(request, member, clients.Find(request.ClientId), ticket);
        }

        if (step == "consent")
        {
            var member = ReadTicket(tickets, form![TicketField].ToString(), members, clock.GetUtcNow());
            if (member is null)
            {
                return TapPage(request, members, null, error: "The tap has expired; tap your VivoKey again.");
            }

            if (form[DecisionField] == "accept")
            {
                return SignIn(member, request, behaviours.IssueRefreshTokens);
            }

            return Results.Forbid(
                new AuthenticationProperties(new Dictionary<string, string?>
                {
                    [OpenIddictServerAspNetCoreConstants.Properties.Error] = Errors.AccessDenied,
                    [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = "The member denied the request.",
                }),
                [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        }

        return TapPage(request, members, null, error: "Unknown step.");
    }

    private static Member? ReadTicket(IDataProtector tickets, string ticket, MemberDirectory members, DateTimeOffset now)
    {
        try
        {
            var parts = tickets.Unprotect(ticket).Split('|');
            return parts.Length == 2 && long.TryParse(parts[1], out var expires) && now.ToUnixTimeSeconds() <= expires
                ? members.FindBySubject(parts[0])
                : null;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    /// <summary>Issues the code: the granted scopes decide which claims go where.</summary>
    private static IResult SignIn(Member member, OpenIddictRequest request, bool issueRefreshTokens)
    {
        var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
        var scopes = request.GetScopes();
        identity.SetClaim(Claims.Subject, member.Subject);
        if (scopes.Contains(Scopes.Profile))
        {
            identity.SetClaim(Claims.Name, member.Name);
        }

        if (scopes.Contains(Scopes.Email))
        {
            identity.SetClaim(Claims.Email, member.Email);
            identity.AddClaim(new Claim(Claims.EmailVerified, "false", ClaimValueTypes.Boolean));
        }

        // By default refresh tokens come with every grant: the Validation API needs live access tokens
        // long after sign-in, and relying parties ask for "openid profile email Validate" only.
        // With IssueRefreshTokens off there are none, even when offline_access is asked for.
        identity.SetScopes(issueRefreshTokens ? scopes.Add(Scopes.OfflineAccess) : scopes.Remove(Scopes.OfflineAccess));
        identity.SetDestinations(claim => claim.Type switch
        {
            Claims.Name or Claims.Email or Claims.EmailVerified => [Destinations.AccessToken, Destinations.IdentityToken],
            _ => [Destinations.AccessToken],
        });

        return Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    private static IResult TapPage(OpenIddictRequest request, MemberDirectory members, Member? hinted, string? error)
    {
        var body = new StringBuilder("<h1>Tap your VivoKey</h1>");
        if (error is not null)
        {
            body.Append("<p role=\"alert\" style=\"color:#b00020\">").Append(Page.E(error)).Append("</p>");
        }

        body.Append("<p class=\"muted\">Hold your phone to your implant. In this simulator, pick the member who taps.</p>");
        var candidates = hinted is not null ? [hinted] : members.All;
        foreach (var member in candidates)
        {
            body.Append("<form method=\"post\" class=\"card\" action=\"").Append(Path).Append("\">")
                .Append(RequestFields(request)).Append(Page.Hidden(StepField, "tap")).Append(Page.Hidden(MemberField, member.Subject))
                .Append("<strong>").Append(Page.E(member.Name)).Append("</strong> <span class=\"muted\">")
                .Append(Page.E(member.Email)).Append("</span><br>")
                .Append("<button class=\"primary\" type=\"submit\">Tap as ").Append(Page.E(member.Name)).Append("</button></form>");
        }

        body.Append("<form method=\"post\" class=\"card\" action=\"").Append(Path).Append("\">")
            .Append(RequestFields(request)).Append(Page.Hidden(StepField, "tap"))
            .Append("<label>Or type a member's id or email<input name=\"").Append(MemberField).Append("\" autocomplete=\"off\"></label>")
            .Append("<button type=\"submit\">Tap</button></form>");
        return Page.Html("Tap your VivoKey", body.ToString());
    }

    private static IResult ConsentPage(OpenIddictRequest request, Member member, ClientOptions? client, string ticket)
    {
        var clientName = string.IsNullOrEmpty(client?.DisplayName) ? request.ClientId : client.DisplayName;
        var body = new StringBuilder()
            .Append("<h1>").Append(Page.E(clientName)).Append(" would like to</h1>")
            .Append("<p class=\"muted\">Signed in by tap as ").Append(Page.E(member.Name)).Append(" (").Append(Page.E(member.Email)).Append(")</p><ul>");
        foreach (var scope in request.GetScopes())
        {
            if (ClaimDescriptions.TryGetValue(scope, out var description))
            {
                body.Append("<li><span class=\"badge\">").Append(Page.E(scope)).Append("</span> ").Append(Page.E(description)).Append("</li>");
            }
        }

        body.Append("</ul><form method=\"post\" action=\"").Append(Path).Append("\">")
            .Append(RequestFields(request)).Append(Page.Hidden(StepField, "consent")).Append(Page.Hidden(TicketField, ticket))
            .Append("<button class=\"primary\" type=\"submit\" name=\"").Append(DecisionField).Append("\" value=\"accept\">Accept</button>")
            .Append("<button class=\"danger\" type=\"submit\" name=\"").Append(DecisionField).Append("\" value=\"deny\">Deny</button></form>");
        return Page.Html("Share your details?", body.ToString());
    }

    private static string RequestFields(OpenIddictRequest request)
    {
        var fields = new StringBuilder();
        foreach (var (name, value) in request.GetParameters())
        {
            if (name.StartsWith("vk_", StringComparison.Ordinal))
            {
                continue;
            }

            // Authorization request parameters are single strings (RFC 6749 section 3.1).
            fields.Append(Page.Hidden(name, (string?)value));
        }

        return fields.ToString();
    }
}

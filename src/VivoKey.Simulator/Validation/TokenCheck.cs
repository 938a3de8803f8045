using Microsoft.AspNetCore.Authentication;
using OpenIddict.Abstractions;
using OpenIddict.Validation.AspNetCore;
using VivoKey.Simulator.Identity;
using VivoKey.Simulator.Infrastructure;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace VivoKey.Simulator.Validation;

/// <summary>Who is asking: the client, the member, and the stored token the POST used.</summary>
public sealed record Caller(string ClientId, string Member, string TokenId);

/// <summary>
/// The Validation API's first step: the bearer token, its lifetime and status, the Validate scope.
/// Refusals are the reference's JSON, or, when the run's fault plan says TokenErrorsAsStatus, status
/// alone: 401 with an empty body for a missing, unknown or expired token, 403 with a small HTML page
/// for a revoked token or a missing scope.
/// </summary>
public static class TokenCheck
{
    private enum TokenProblem
    {
        Unknown,
        Expired,
        Revoked,
    }

    public static async Task<(Caller? Caller, IResult? Refusal)> CheckAsync(
        HttpContext http, IOpenIddictTokenManager tokens, TimeProvider clock, bool errorsAsStatus)
    {
        var bearer = BearerToken(http.Request);
        if (bearer is null)
        {
            return (null, errorsAsStatus
                ? Unauthorized(http)
                : ValidateEndpoint.Refuse(StatusCodes.Status401Unauthorized, "invalid-token", "An Authorization: Bearer header with the member's access token is required."));
        }

        var auth = await http.AuthenticateAsync(OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme);
        if (!auth.Succeeded || auth.Principal is null)
        {
            var problem = await DiagnoseAsync(tokens, bearer, clock.GetUtcNow(), http.RequestAborted);
            return (null, (problem, errorsAsStatus) switch
            {
                (TokenProblem.Revoked, true) => BareAnswers.Forbidden(),
                (_, true) => Unauthorized(http),
                // The reference names one error for a token that no longer works: a revoked one is "expired" too.
                (TokenProblem.Expired or TokenProblem.Revoked, false) =>
                    ValidateEndpoint.Refuse(StatusCodes.Status401Unauthorized, "token-expired", "The member's Access Token has expired and should be renewed."),
                _ => ValidateEndpoint.Refuse(StatusCodes.Status401Unauthorized, "invalid-token", "The access token is not one this service issued."),
            });
        }

        var principal = auth.Principal;
        if (!principal.HasScope(ValidateEndpoint.ValidateScope))
        {
            return (null, errorsAsStatus
                ? BareAnswers.Forbidden()
                : ValidateEndpoint.Refuse(StatusCodes.Status403Forbidden, "insufficient-scope", "The access token was not granted the Validate scope."));
        }

        var clientId = principal.GetClaim(Claims.ClientId) ?? principal.GetPresenters().FirstOrDefault() ?? "";
        return (new Caller(clientId, principal.GetClaim(Claims.Subject) ?? "", principal.GetTokenId() ?? ""), null);
    }

    private static IResult Unauthorized(HttpContext http)
    {
        // What a bearer-protected view answers (RFC 6750), with nothing in the body.
        http.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
        return BareAnswers.Empty(http, StatusCodes.Status401Unauthorized);
    }

    private static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        const string prefix = "Bearer ";
        return header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && header.Length > prefix.Length
            ? header[prefix.Length..].Trim()
            : null;
    }

    /// <summary>Why a token was refused: one this service never issued, one past its lifetime, or one revoked.</summary>
    private static async Task<TokenProblem> DiagnoseAsync(IOpenIddictTokenManager tokens, string bearer, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var token = await tokens.FindByReferenceIdAsync(bearer, cancellationToken);
        if (token is null || !await tokens.IsAccessTokenAsync(token, cancellationToken))
        {
            return TokenProblem.Unknown;
        }

        if (await tokens.HasStatusAsync(token, Statuses.Revoked, cancellationToken))
        {
            return TokenProblem.Revoked;
        }

        return await tokens.IsExpiredAsync(token, now, cancellationToken) ? TokenProblem.Expired : TokenProblem.Unknown;
    }
}

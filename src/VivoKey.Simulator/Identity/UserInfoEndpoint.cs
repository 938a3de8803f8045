using Microsoft.AspNetCore.Authentication;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace VivoKey.Simulator.Identity;

/// <summary>userinfo: the claims the access token's scopes were granted, nothing more.</summary>
public static class UserInfoEndpoint
{
    public const string Path = "/openid/userinfo/";

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapMethods(Path, ["GET", "POST"], HandleAsync);

    private static async Task<IResult> HandleAsync(HttpContext http, MemberDirectory members)
    {
        var result = await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        var member = members.FindBySubject(result.Principal?.GetClaim(Claims.Subject));
        if (result.Principal is null || member is null)
        {
            return Results.Challenge(
                new AuthenticationProperties(new Dictionary<string, string?>
                {
                    [OpenIddictServerAspNetCoreConstants.Properties.Error] = Errors.InvalidToken,
                    [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = "The access token belongs to no known member.",
                }),
                [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        }

        var claims = new Dictionary<string, object>(StringComparer.Ordinal) { [Claims.Subject] = member.Subject };
        if (result.Principal.HasScope(Scopes.Profile))
        {
            claims[Claims.Name] = member.Name;
        }

        if (result.Principal.HasScope(Scopes.Email))
        {
            claims[Claims.Email] = member.Email;
            claims[Claims.EmailVerified] = false;
        }

        return Results.Ok(claims);
    }
}

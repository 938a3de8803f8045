using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace VivoKey.Simulator.Identity;

/// <summary>
/// With RefreshRevokesPrevious: once a refresh grant has made its new tokens, every earlier access
/// and refresh token of the member for that client is revoked, so only the new pair works (as a
/// provider that keeps one live token per member and client would behave).
/// </summary>
public sealed class RevokePreviousTokensOnRefresh(
    Behaviours behaviours,
    IOpenIddictApplicationManager applications,
    IOpenIddictTokenManager tokens) : IOpenIddictServerHandler<ProcessSignInContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireTokenRequest>()
            .UseScopedHandler<RevokePreviousTokensOnRefresh>()
            // After every token of this response has its stored entry, so the new ones can be spared.
            .SetOrder(OpenIddictServerHandlers.GenerateIdentityToken.Descriptor.Order + 500)
            .Build();

    public async ValueTask HandleAsync(ProcessSignInContext context)
    {
        if (!behaviours.RefreshRevokesPrevious || context.IsRejected || context.Request?.IsRefreshTokenGrantType() != true)
        {
            return;
        }

        var subject = context.Principal?.GetClaim(Claims.Subject);
        var application = string.IsNullOrEmpty(context.ClientId)
            ? null
            : await applications.FindByClientIdAsync(context.ClientId, context.CancellationToken);
        if (string.IsNullOrEmpty(subject) || application is null)
        {
            return;
        }

        var spared = new[] { context.AccessTokenPrincipal, context.RefreshTokenPrincipal, context.IdentityTokenPrincipal }
            .Select(principal => principal?.GetTokenId())
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal);
        var applicationId = await applications.GetIdAsync(application, context.CancellationToken);
        await tokens.RevokeAccessAndRefreshTokensAsync(subject, applicationId, spared, context.CancellationToken);
    }
}

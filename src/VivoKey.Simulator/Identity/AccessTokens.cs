using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace VivoKey.Simulator.Identity;

/// <summary>Questions about stored access tokens that the Validation API and the test controls ask.</summary>
public static class AccessTokens
{
    public static async ValueTask<bool> IsAccessTokenAsync(this IOpenIddictTokenManager tokens, object token, CancellationToken cancellationToken)
    {
        // OpenIddict stores the token type as its URN; older stores used the short hint.
        var type = await tokens.GetTypeAsync(token, cancellationToken);
        return type is TokenTypeIdentifiers.AccessToken or TokenTypeHints.AccessToken;
    }

    /// <summary>True when the token's lifetime is over or it was revoked: a tap with it ends as token-expired.</summary>
    public static async ValueTask<bool> IsExpiredAsync(this IOpenIddictTokenManager tokens, object token, DateTimeOffset now, CancellationToken cancellationToken) =>
        await tokens.GetExpirationDateAsync(token, cancellationToken) <= now
        || !await tokens.HasStatusAsync(token, Statuses.Valid, cancellationToken);
}

using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace VivoKey.Simulator.Identity;

/// <summary>
/// Revokes a member's access and refresh tokens: when the member revokes the app in VivoKey, or when
/// a refresh replaces every earlier token (RefreshRevokesPrevious). A revoked access token is refused
/// by the Validation API, and a tap on a challenge made with it ends as token-expired.
/// </summary>
public static class MemberTokenRevocation
{
    /// <summary>Revokes the member's live access and refresh tokens (of one application when given) except those spared; returns how many.</summary>
    public static async Task<int> RevokeAccessAndRefreshTokensAsync(
        this IOpenIddictTokenManager tokens,
        string subject,
        string? applicationId,
        IReadOnlySet<string> spared,
        CancellationToken cancellationToken)
    {
        // Listed first, changed after: the store is not enumerated while it is written.
        var found = new List<object>();
        await foreach (var token in tokens.FindAsync(subject, applicationId, status: null, type: null, cancellationToken))
        {
            found.Add(token);
        }

        var revoked = 0;
        foreach (var token in found)
        {
            if (spared.Contains(await tokens.GetIdAsync(token, cancellationToken) ?? "")
                || await tokens.HasStatusAsync(token, Statuses.Revoked, cancellationToken)
                || !await IsAccessOrRefreshTokenAsync(tokens, token, cancellationToken))
            {
                continue;
            }

            if (await tokens.TryRevokeAsync(token, cancellationToken))
            {
                revoked++;
            }
        }

        return revoked;
    }

    private static async ValueTask<bool> IsAccessOrRefreshTokenAsync(IOpenIddictTokenManager tokens, object token, CancellationToken cancellationToken)
    {
        var type = await tokens.GetTypeAsync(token, cancellationToken);
        return type is TokenTypeIdentifiers.AccessToken or TokenTypeHints.AccessToken
            or TokenTypeIdentifiers.RefreshToken or TokenTypeHints.RefreshToken;
    }
}

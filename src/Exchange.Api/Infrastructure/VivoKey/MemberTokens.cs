using System.Text.Json;
using Exchange.Api.Infrastructure.Persistence;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Infrastructure.VivoKey;

/// <summary>
/// The members' VivoKey tokens: encrypted at rest (Data Protection, keys in PostgreSQL so every
/// instance shares them), refreshed under a row lock so two instances never spend one refresh token.
/// </summary>
public sealed class MemberTokens(
    ExchangeDbContext db,
    IDataProtectionProvider protection,
    IHttpClientFactory http,
    VivoKeyDiscovery discovery,
    IOptions<VivoKeyOptions> options,
    TimeProvider clock,
    ILogger<MemberTokens> logger)
{
    private readonly IDataProtector _protector = protection.CreateProtector("Exchange.VivoKey.MemberTokens");

    /// <summary>
    /// A sign-in's tokens replace the member's whole set, the refresh token too: one from an earlier grant may have
    /// been revoked by this one, and a provider that issues none this time gives the member none to rely on.
    /// </summary>
    public async Task StoreAsync(Guid memberId, string accessToken, string? refreshToken, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        // Under the row's lock, as a refresh writes it: a sign-in racing a refresh waits instead of failing.
        await using var transaction = db.Database.CurrentTransaction is null ? await db.Database.BeginTransactionAsync(cancellationToken) : null;
        var row = await db.LockMemberTokenIfAnyAsync(memberId, cancellationToken);
        if (row is null)
        {
            row = new MemberToken { MemberId = memberId };
            db.MemberTokens.Add(row);
        }

        row.ProtectedAccessToken = _protector.Protect(accessToken);
        row.ProtectedRefreshToken = refreshToken is null ? null : _protector.Protect(refreshToken);
        row.AccessTokenExpiresAt = expiresAt;
        row.Unusable = false;
        row.Generation++;
        row.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        if (transaction is not null)
        {
            await transaction.CommitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Whether a challenge sent now could be answered: the member has a token that lasts until
    /// <paramref name="mustLastUntil"/>, or a refresh token to get one. A member without either signs in
    /// again before any funds are held for them.
    /// </summary>
    public Task<bool> CanChallengeAsync(Guid memberId, DateTimeOffset mustLastUntil, CancellationToken cancellationToken) =>
        db.MemberTokens.AnyAsync(
            t => t.MemberId == memberId && !t.Unusable && (t.ProtectedRefreshToken != null || t.AccessTokenExpiresAt > mustLastUntil),
            cancellationToken);

    /// <summary>The generation of the member's current token, or null when they have none that works.</summary>
    public Task<int?> CurrentGenerationAsync(Guid memberId, CancellationToken cancellationToken) =>
        db.MemberTokens.Where(t => t.MemberId == memberId && !t.Unusable).Select(t => (int?)t.Generation).SingleOrDefaultAsync(cancellationToken);

    /// <summary>
    /// An access token that stays valid until <paramref name="mustLastUntil"/>, refreshing first if
    /// needed (VivoKey's tokens live an hour, a challenge up to a day). With <paramref name="rejectedGeneration"/>,
    /// VivoKey refused that generation: a newer one is used if another send refreshed meanwhile, else one refresh.
    /// Refreshes are serialised per member by the row's lock: a provider that revokes the previous tokens at each
    /// refresh must not see two refreshes race, each revoking what the other just got. Null when the member must
    /// sign in again.
    /// </summary>
    public async Task<MemberAccess?> GetAccessTokenAsync(Guid memberId, DateTimeOffset mustLastUntil, int? rejectedGeneration, CancellationToken cancellationToken)
    {
        var current = await db.MemberTokens.AsNoTracking().SingleOrDefaultAsync(t => t.MemberId == memberId, cancellationToken);
        if (current is null || current.Unusable)
        {
            return null;
        }

        if (current.Generation != rejectedGeneration && current.AccessTokenExpiresAt > mustLastUntil)
        {
            return new(_protector.Unprotect(current.ProtectedAccessToken), current.Generation);
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var row = await db.LockMemberTokenAsync(memberId, cancellationToken);

        // Another send refreshed while this one waited for the lock: its token is the one to use.
        if (!row.Unusable && row.Generation != current.Generation && row.Generation != rejectedGeneration && row.AccessTokenExpiresAt > mustLastUntil)
        {
            await transaction.CommitAsync(cancellationToken);
            return new(_protector.Unprotect(row.ProtectedAccessToken), row.Generation);
        }

        var refreshed = row.ProtectedRefreshToken is null || row.Unusable ? null : await RefreshAsync(_protector.Unprotect(row.ProtectedRefreshToken), cancellationToken);
        if (refreshed is null)
        {
            row.Unusable = true;
            row.UpdatedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return null;
        }

        row.ProtectedAccessToken = _protector.Protect(refreshed.Value.AccessToken);
        if (refreshed.Value.RefreshToken is not null)
        {
            row.ProtectedRefreshToken = _protector.Protect(refreshed.Value.RefreshToken);
        }

        row.AccessTokenExpiresAt = refreshed.Value.ExpiresAt;
        row.Generation++;
        row.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new(refreshed.Value.AccessToken, row.Generation);
    }

    /// <summary>
    /// VivoKey said the member's token of <paramref name="generation"/> expired and no refresh helped: no challenge is
    /// sent for them until they sign in again. A newer generation (another send refreshed, the member signed in again)
    /// is left alone. Null: whatever the generation.
    /// </summary>
    public async Task MarkUnusableAsync(Guid memberId, int? generation, CancellationToken cancellationToken) =>
        await db.MemberTokens.Where(t => t.MemberId == memberId && (generation == null || t.Generation == generation))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.Unusable, true).SetProperty(t => t.UpdatedAt, clock.GetUtcNow()), cancellationToken);

    private async Task<(string AccessToken, string? RefreshToken, DateTimeOffset ExpiresAt)?> RefreshAsync(string refreshToken, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        using var request = new HttpRequestMessage(HttpMethod.Post, await discovery.TokenEndpointAsync(cancellationToken))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token",
                ["refresh_token"] = refreshToken,
                // client_secret_post, as the sign-in's code redemption authenticates: the one method start-up checks
                // the discovery document for (VivoKeyDiscovery).
                ["client_id"] = settings.ClientId,
                ["client_secret"] = settings.ClientSecret,
            }),
        };
        HttpResponseMessage response;
        try
        {
            response = await http.CreateClient(VivoKeyHttp.ClientName).SendAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new TokenEndpointUnavailableException($"VivoKey's token endpoint did not answer: {ex.Message}", ex);
        }

        using var _ = response;
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var status = (int)response.StatusCode;
        if (status is 408 or 429 or >= 500)
        {
            // VivoKey is down or busy, not refusing this member: the send is retried, the member keeps their tokens.
            throw new TokenEndpointUnavailableException($"VivoKey's token endpoint answered {status}");
        }

        if (!response.IsSuccessStatusCode)
        {
            logger.LogWarning("VivoKey refused a token refresh: {Status} {Body}", status, body);
            return null;
        }

        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var expiresIn = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) ? seconds : 3600;
        return (
            root.GetProperty("access_token").GetString()!,
            root.TryGetProperty("refresh_token", out var r) ? r.GetString() : null,
            clock.GetUtcNow().AddSeconds(expiresIn));
    }
}

/// <summary>An access token and the generation of the member's tokens it belongs to.</summary>
public sealed record MemberAccess(string AccessToken, int Generation);

/// <summary>The token endpoint could not be reached or answered 408, 429 or 5xx: a refresh to try again later, not a refusal.</summary>
public sealed class TokenEndpointUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

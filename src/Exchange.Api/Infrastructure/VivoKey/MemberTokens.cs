using System.Net.Http.Headers;
using System.Text;
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

    public async Task StoreAsync(Guid memberId, string accessToken, string? refreshToken, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var row = await db.MemberTokens.SingleOrDefaultAsync(t => t.MemberId == memberId, cancellationToken);
        if (row is null)
        {
            row = new MemberToken { MemberId = memberId };
            db.MemberTokens.Add(row);
        }

        row.ProtectedAccessToken = _protector.Protect(accessToken);
        row.ProtectedRefreshToken = refreshToken is null ? row.ProtectedRefreshToken : _protector.Protect(refreshToken);
        row.AccessTokenExpiresAt = expiresAt;
        row.Unusable = false;
        row.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>
    /// An access token that stays valid until <paramref name="mustLastUntil"/>, refreshing first if
    /// needed (VivoKey's tokens live an hour, a challenge up to a day). Null when the member must
    /// sign in again.
    /// </summary>
    public async Task<string?> GetAccessTokenAsync(Guid memberId, DateTimeOffset mustLastUntil, bool forceRefresh, CancellationToken cancellationToken)
    {
        var current = await db.MemberTokens.AsNoTracking().SingleOrDefaultAsync(t => t.MemberId == memberId, cancellationToken);
        if (current is null || current.Unusable)
        {
            return null;
        }

        if (!forceRefresh && current.AccessTokenExpiresAt > mustLastUntil)
        {
            return _protector.Unprotect(current.ProtectedAccessToken);
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var row = await db.LockMemberTokenAsync(memberId, cancellationToken);

        // Another instance may have refreshed while this one waited for the lock.
        if (row.UpdatedAt > current.UpdatedAt && row.AccessTokenExpiresAt > mustLastUntil && !row.Unusable)
        {
            await transaction.CommitAsync(cancellationToken);
            return _protector.Unprotect(row.ProtectedAccessToken);
        }

        var refreshed = row.ProtectedRefreshToken is null ? null : await RefreshAsync(_protector.Unprotect(row.ProtectedRefreshToken), cancellationToken);
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
        row.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return refreshed.Value.AccessToken;
    }

    /// <summary>VivoKey said the member's token expired: no challenge is sent for them until they sign in again.</summary>
    public async Task MarkUnusableAsync(Guid memberId, CancellationToken cancellationToken) =>
        await db.MemberTokens.Where(t => t.MemberId == memberId)
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
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(settings.ClientId)}:{Uri.EscapeDataString(settings.ClientSecret)}")));
        using var response = await http.CreateClient(VivoKeyHttp.ClientName).SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            logger.LogWarning("VivoKey refused a token refresh: {Status} {Body}", (int)response.StatusCode, body);
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

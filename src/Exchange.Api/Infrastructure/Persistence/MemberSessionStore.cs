using System.Security.Claims;
using Exchange.Api.Common;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Exchange.Api.Infrastructure.Persistence;

/// <summary>
/// A signed-in browser session, kept on the server: the cookie carries only its id. Ended by sign-out,
/// by an operator, and (a trigger on member_roles) whenever the member's roles change.
/// </summary>
public sealed class MemberSession
{
    public Guid Id { get; set; }
    public Guid MemberId { get; set; }

    /// <summary>The authentication ticket (claims, expiry), serialized and encrypted with Data Protection.</summary>
    public byte[] Ticket { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset LastSeenAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>
/// The cookie handler's session store in PostgreSQL: every instance reads the same sessions, and ending one
/// (sign-out, revocation) takes effect on the next request anywhere. One primary-key read per request.
/// </summary>
public sealed class MemberSessionStore(NpgsqlDataSource database, IDataProtectionProvider protection, TimeProvider clock) : ITicketStore
{
    private readonly IDataProtector _protector = protection.CreateProtector("Exchange.MemberSessions.v1");

    /// <summary>Sessions seen again within this long are not written back: one write a minute at most, not one a request.</summary>
    private static readonly TimeSpan SeenResolution = TimeSpan.FromMinutes(1);

    private byte[] Protect(AuthenticationTicket ticket) => _protector.Protect(TicketSerializer.Default.Serialize(ticket));

    private DateTimeOffset ExpiryOf(AuthenticationTicket ticket, DateTimeOffset now) => ticket.Properties.ExpiresUtc ?? now.AddHours(8);

    public Task<string> StoreAsync(AuthenticationTicket ticket) => StoreAsync(ticket, CancellationToken.None);

    public Task<string> StoreAsync(AuthenticationTicket ticket, CancellationToken cancellationToken) => StoreAsync(ticket, null!, cancellationToken);

    public async Task<string> StoreAsync(AuthenticationTicket ticket, HttpContext httpContext, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(ticket.Principal.FindFirstValue(ExchangeClaims.MemberId), out var memberId))
        {
            throw new InvalidOperationException("A session must name its member.");
        }

        var id = Guid.CreateVersion7();
        var now = clock.GetUtcNow();
        await using var command = database.CreateCommand(
            """
            INSERT INTO member_sessions (id, member_id, ticket, created_at, expires_at, last_seen_at) VALUES (@id, @member, @ticket, @now, @expires, @now);
            -- The member's ended sessions go as a new one starts, so the table holds about the live ones.
            DELETE FROM member_sessions WHERE member_id = @member AND (revoked_at IS NOT NULL OR expires_at < @now);
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("member", memberId);
        command.Parameters.AddWithValue("ticket", Protect(ticket));
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("expires", ExpiryOf(ticket, now));
        await command.ExecuteNonQueryAsync(cancellationToken);
        return id.ToString();
    }

    public Task RenewAsync(string key, AuthenticationTicket ticket) => RenewAsync(key, ticket, CancellationToken.None);

    public Task RenewAsync(string key, AuthenticationTicket ticket, CancellationToken cancellationToken) => RenewAsync(key, ticket, null!, cancellationToken);

    public async Task RenewAsync(string key, AuthenticationTicket ticket, HttpContext httpContext, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(key, out var id))
        {
            return;
        }

        var now = clock.GetUtcNow();
        // A revoked session stays revoked: renewing never brings it back.
        await using var command = database.CreateCommand(
            "UPDATE member_sessions SET ticket = $2, expires_at = $3, last_seen_at = $4 WHERE id = $1 AND revoked_at IS NULL");
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = Protect(ticket) });
        command.Parameters.Add(new() { Value = ExpiryOf(ticket, now) });
        command.Parameters.Add(new() { Value = now });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task<AuthenticationTicket?> RetrieveAsync(string key) => RetrieveAsync(key, CancellationToken.None);

    public Task<AuthenticationTicket?> RetrieveAsync(string key, CancellationToken cancellationToken) => RetrieveAsync(key, null!, cancellationToken);

    /// <summary>The session's ticket, or null (the request is anonymous) when it ended, expired or never was.</summary>
    public async Task<AuthenticationTicket?> RetrieveAsync(string key, HttpContext httpContext, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(key, out var id))
        {
            return null;
        }

        var now = clock.GetUtcNow();
        await using var command = database.CreateCommand(
            """
            WITH seen AS (
                UPDATE member_sessions SET last_seen_at = @now WHERE id = @id AND revoked_at IS NULL AND expires_at > @now AND last_seen_at < @seen)
            SELECT ticket FROM member_sessions WHERE id = @id AND revoked_at IS NULL AND expires_at > @now
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("seen", now - SeenResolution);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        try
        {
            var ticket = TicketSerializer.Default.Deserialize(_protector.Unprotect(reader.GetFieldValue<byte[]>(0)));
            if (ticket is not null && httpContext is not null)
            {
                httpContext.Items[SessionIdItem] = id;
            }

            return ticket;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            // Its key is gone: the session cannot be read, so it is over.
            return null;
        }
    }

    /// <summary>Where a request signed in by a session keeps that session's id (a long-lived response checks it again).</summary>
    public const string SessionIdItem = "exchange.session-id";

    /// <summary>The session that signed this request in, if a session did.</summary>
    public static Guid? SessionOf(HttpContext http) => http.Items[SessionIdItem] as Guid?;

    /// <summary>False once the session was signed out, revoked or has expired.</summary>
    public async Task<bool> IsLiveAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT EXISTS (SELECT 1 FROM member_sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2)");
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = clock.GetUtcNow() });
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    public Task RemoveAsync(string key) => RemoveAsync(key, CancellationToken.None);

    public Task RemoveAsync(string key, CancellationToken cancellationToken) => RemoveAsync(key, null!, cancellationToken);

    /// <summary>Sign-out: the session ends here, for every copy of its cookie.</summary>
    public async Task RemoveAsync(string key, HttpContext httpContext, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(key, out var id))
        {
            return;
        }

        await using var command = database.CreateCommand("UPDATE member_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL");
        command.Parameters.Add(new() { Value = id });
        command.Parameters.Add(new() { Value = clock.GetUtcNow() });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Ends every open session of the member, in the caller's transaction; returns how many.</summary>
    public static Task<int> RevokeAllAsync(ExchangeDbContext db, Guid memberId, DateTimeOffset at, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlAsync($"UPDATE member_sessions SET revoked_at = {at} WHERE member_id = {memberId} AND revoked_at IS NULL", cancellationToken);
}

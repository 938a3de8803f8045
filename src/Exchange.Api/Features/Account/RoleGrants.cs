using System.Security.Claims;
using Exchange.Api.Common;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Audit;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Features.Account;

/// <summary>
/// The compliance and operator roles: granted by configuration to VivoKey subjects (never to an email, which
/// VivoKey does not verify), stored in member_roles, and audited when they change. Configuration is applied at
/// start-up for every known member and at each sign-in for the one signing in; a session re-reads its roles
/// from the database every minute, so a revoked role stops working without waiting for the cookie.
/// </summary>
public sealed class RoleGrants(ExchangeDbContext db, IOptions<RoleOptions> options, TimeProvider clock, ILogger<RoleGrants> logger)
{
    public const string Source = "configuration";

    /// <summary>The reason of a revoked role that only an email entry granted: such grants predate subject-only roles.</summary>
    public const string GrantedByUnverifiedEmail = "granted by unverified email";

    /// <summary>The reason of a revoked role whose entry left the configuration.</summary>
    public const string NoLongerConfigured = "no longer granted by configuration";

    private static readonly TimeSpan SessionRecheck = TimeSpan.FromMinutes(1);
    private const string CheckedAtItem = ".roles_checked_at";

    /// <summary>Applies the configured grants to one member; returns the member's roles, trader first.</summary>
    public async Task<IReadOnlyList<string>> ApplyAsync(Guid memberId, string subject, string email, CancellationToken cancellationToken)
    {
        var wanted = SignIn.RolesOf(subject, options.Value).Where(r => r != Roles.Trader).ToHashSet(StringComparer.Ordinal);
        var stored = await db.MemberRoles.Where(r => r.MemberId == memberId).ToListAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var actor = db.Actor;
        db.Actor = Actors.System;
        foreach (var role in wanted.Where(w => stored.All(s => s.Role != w)))
        {
            db.MemberRoles.Add(new MemberRole { MemberId = memberId, Role = role, GrantedAt = now, Source = Source });
            db.Audit("role.granted", $"member:{memberId}", new { subject, role, source = Source }, now);
        }

        foreach (var gone in stored.Where(s => !wanted.Contains(s.Role)))
        {
            db.MemberRoles.Remove(gone);
            var reason = ListedByEmail(gone.Role, email) ? GrantedByUnverifiedEmail : NoLongerConfigured;
            db.Audit("role.revoked", $"member:{memberId}", new { subject, role = gone.Role, source = Source, reason }, now);
        }

        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Another instance applied the same grants at the same moment: theirs stand.
            db.ChangeTracker.Clear();
        }
        finally
        {
            db.Actor = actor;
        }

        return [Roles.Trader, .. wanted.Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// At start-up: configuration is the source of truth for every member already known. A role stored when an
    /// email entry still granted roles is revoked here, on the first start that grants by subject only.
    /// </summary>
    public async Task ApplyToAllAsync(CancellationToken cancellationToken)
    {
        foreach (var (setting, entry) in options.Value.NotSubjects())
        {
            // Outside Development and Testing the guard refuses such an entry before this runs; here it is ignored, visibly.
            logger.LogWarning("{Setting} lists {Entry}, which is not a VivoKey subject: it grants no role (VivoKey does not verify emails). List the staff member's VivoKey subject instead.", setting, entry);
        }

        var configured = options.Value.Compliance.Concat(options.Value.Operators).Where(RoleOptions.IsSubject).ToList();
        var members = await db.Members.AsNoTracking()
            .Where(m => configured.Contains(m.Subject) || db.MemberRoles.Any(r => r.MemberId == m.Id))
            .Select(m => new { m.Id, m.Subject, m.Email })
            .ToListAsync(cancellationToken);
        foreach (var member in members)
        {
            await ApplyAsync(member.Id, member.Subject, member.Email, cancellationToken);
        }
    }

    public async Task<IReadOnlyList<string>> RolesOfAsync(Guid memberId, CancellationToken cancellationToken) =>
    [
        Roles.Trader,
        .. await db.MemberRoles.AsNoTracking().Where(r => r.MemberId == memberId).Select(r => r.Role).OrderBy(r => r).ToListAsync(cancellationToken),
    ];

    /// <summary>The cookie's check: once a minute, the session's roles are replaced by the stored ones.</summary>
    public static async Task RecheckAsync(CookieValidatePrincipalContext context)
    {
        var clock = context.HttpContext.RequestServices.GetRequiredService<TimeProvider>();
        var now = clock.GetUtcNow();
        var items = context.Properties.Items;
        if (items.TryGetValue(CheckedAtItem, out var text) && DateTimeOffset.TryParse(text, out var checkedAt) && now - checkedAt < SessionRecheck)
        {
            return;
        }

        if (context.Principal?.Identity is not ClaimsIdentity identity || !Guid.TryParse(identity.FindFirst(ExchangeClaims.MemberId)?.Value, out var memberId))
        {
            return;
        }

        var grants = context.HttpContext.RequestServices.GetRequiredService<RoleGrants>();
        var roles = await grants.RolesOfAsync(memberId, context.HttpContext.RequestAborted);
        foreach (var claim in identity.FindAll(ExchangeClaims.Role).ToList())
        {
            identity.RemoveClaim(claim);
        }

        identity.AddClaims(roles.Select(r => new Claim(ExchangeClaims.Role, r)));
        items[CheckedAtItem] = now.ToString("O");
        context.ReplacePrincipal(new ClaimsPrincipal(identity));
        context.ShouldRenew = true;
    }

    /// <summary>Whether an email entry (ignored now) lists this member's email for the role.</summary>
    private bool ListedByEmail(string role, string email)
    {
        var list = role == Roles.Compliance ? options.Value.Compliance : role == Roles.Operator ? options.Value.Operators : [];
        return email.Length > 0 && list.Any(entry => !RoleOptions.IsSubject(entry) && string.Equals(entry.Trim(), email.Trim(), StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Marks a new session's roles as just read.</summary>
    public static void MarkChecked(IDictionary<string, string?> items, DateTimeOffset at) => items[CheckedAtItem] = at.ToString("O");
}

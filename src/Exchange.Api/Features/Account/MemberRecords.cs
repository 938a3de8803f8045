using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Common;
using Exchange.Domain.Members;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Features.Account;

/// <summary>
/// The member's row at each sign-in: created at the first one with a fresh account handle, its name
/// and email (both unverified, both cleaned for display) refreshed at every one after.
/// </summary>
public static class MemberRecords
{
    /// <summary>Draws of a handle before giving up: at 40 bits, a second draw is already a rarity.</summary>
    private const int HandleDraws = 8;

    /// <param name="drawHandle">A source of fresh handles: <see cref="AccountHandle.New"/>, or a test's sequence.</param>
    public static async Task<Member> RecordSignInAsync(
        ExchangeDbContext db, string subject, string name, string email, DateTimeOffset now, Func<string> drawHandle, CancellationToken ct)
    {
        name = DisplayText.Clean(name);
        email = DisplayText.Clean(email, 320);
        for (var draw = 1; draw <= HandleDraws; draw++)
        {
            // The member may exist already (the common case), or the handle drawn may be taken: the unique
            // indexes decide, without a check-then-insert race. A row skipped for a taken handle draws again.
            var handle = drawHandle();
            var inserted = await db.Database.ExecuteSqlAsync(
                $"""
                INSERT INTO members (id, subject, handle, name, email, created_at, last_sign_in_at)
                VALUES ({Guid.CreateVersion7()}, {subject}, {handle}, {name}, {email}, {now}, {now})
                ON CONFLICT DO NOTHING
                """, ct);
            var updated = inserted == 1 ? 1 : await db.Database.ExecuteSqlAsync(
                $"UPDATE members SET name = {name}, email = {email}, last_sign_in_at = {now} WHERE subject = {subject}", ct);
            if (updated == 1)
            {
                return await db.Members.AsNoTracking().SingleAsync(m => m.Subject == subject, ct);
            }
        }

        throw new InvalidOperationException($"No free account handle after {HandleDraws} draws.");
    }
}

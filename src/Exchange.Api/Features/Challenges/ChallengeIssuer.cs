using Exchange.Api.Common;
using Exchange.Api.Infrastructure.Jobs;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.VivoKey;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Features.Challenges;

/// <summary>
/// Creates the validation challenge of a new request, in the request's transaction. The challenge
/// row (state sending, next_send_at due) is the durable intent to send it; the job is enqueued once
/// the transaction commits (the dispatcher sends it at once), and the reconciler re-enqueues any whose enqueue was lost to a crash.
/// </summary>
public sealed class ChallengeIssuer(
    ExchangeDbContext db,
    ChallengeKeys keys,
    JobScheduler jobs,
    TimeProvider clock,
    IOptions<VivoKeyOptions> options)
{
    /// <summary>
    /// A member whose VivoKey tokens are spent (expired and not refreshable, or revoked) cannot be
    /// challenged: refuse the request up front rather than hold funds for a challenge that cannot be sent.
    /// </summary>
    public async Task EnsureMemberCanBeChallengedAsync(Guid memberId, CancellationToken cancellationToken)
    {
        if (!await db.MemberTokens.AnyAsync(t => t.MemberId == memberId && !t.Unusable, cancellationToken))
        {
            throw new ConflictException("Your VivoKey session has expired: sign in again to confirm requests with your implant.");
        }
    }

    public Challenge Issue(ApprovalRequest request, string message) =>
        IssueFor(request.Kind, request.Id, request.MemberId, request.AuditSubject, message);

    /// <summary>A challenge to the member for anything the tap approves: a request, or an operator's action.</summary>
    public Challenge IssueFor(RequestKind kind, Guid requestId, Guid memberId, string auditSubject, string message)
    {
        var id = keys.NewId();
        var now = clock.GetUtcNow();
        var challenge = new Challenge(
            Guid.CreateVersion7(), kind, requestId, memberId, ChallengeIds.Hash(id), keys.Seal(id), message, now,
            now.AddSeconds(options.Value.ChallengeTimeoutSeconds));
        db.Challenges.Add(challenge);
        db.Audit("challenge.issued", auditSubject, new { challengeId = challenge.Id, message, deadline = challenge.Deadline }, now);
        db.WhenCommitted(() => jobs.SendChallengeNow(challenge.Id));
        return challenge;
    }
}

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
    MemberTokens tokens,
    JobScheduler jobs,
    TimeProvider clock,
    IOptions<VivoKeyOptions> options)
{
    /// <summary>
    /// A member whose VivoKey tokens are spent (expired and not refreshable, or revoked), or who has no refresh token
    /// and an access token that ends before the challenge would, cannot be challenged: refuse the request up front
    /// rather than hold funds for a challenge that cannot be sent.
    /// </summary>
    public async Task EnsureMemberCanBeChallengedAsync(Guid memberId, CancellationToken cancellationToken)
    {
        if (!await tokens.CanChallengeAsync(memberId, clock.GetUtcNow().AddSeconds(options.Value.ChallengeTimeoutSeconds), cancellationToken))
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

    /// <summary>How often one challenge is issued again for a token-expired callback before the member must sign in.</summary>
    public const int MaxReissues = 3;

    /// <summary>
    /// The least time before the deadline worth issuing a challenge again for: VivoKey's shortest timeout, so the
    /// member's phone never shows a challenge that outlives ours.
    /// </summary>
    private static readonly TimeSpan ReissueMargin = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A token-expired callback for a challenge that still has time: the token its POST used was replaced (a
    /// provider may revoke the previous tokens at each refresh) or has just run out. The challenge is issued again
    /// under a new id, the old one retired, and its send refreshes the token first unless another send already
    /// did; if no refresh can be had, that send ends the request token_expired. Not more than MaxReissues times.
    /// </summary>
    public async Task<bool> TryReissueAsync(Challenge challenge, string subject, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (challenge.IsEnded || challenge.Reissues >= MaxReissues || challenge.Deadline - now < ReissueMargin
            || await tokens.CurrentGenerationAsync(challenge.MemberId, cancellationToken) is not { } current)
        {
            return false;
        }

        // The old id's hash is kept first, in this transaction: the database lets an open challenge's id change only
        // to replace one recorded as retired.
        await db.Database.ExecuteSqlAsync(
            $"INSERT INTO retired_challenge_ids (id_hash, challenge_id, retired_at, reason) VALUES ({challenge.IdHash}, {challenge.Id}, {now}, 'token-expired')",
            cancellationToken);
        var id = keys.NewId();
        challenge.Reissue(ChallengeIds.Hash(id), keys.Seal(id), now);

        db.Audit("challenge.reissued", subject, new
        {
            challengeId = challenge.Id,
            reason = "token-expired",
            rejectedTokenGeneration = challenge.RejectedTokenGeneration,
            currentTokenGeneration = current,
            reissue = challenge.Reissues,
            deadline = challenge.Deadline,
        }, now);
        db.WhenCommitted(() => jobs.SendChallengeNow(challenge.Id));
        return true;
    }
}

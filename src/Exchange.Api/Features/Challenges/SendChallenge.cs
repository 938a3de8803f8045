using Exchange.Api.Bookkeeping;
using Exchange.Api.Infrastructure;
using Exchange.Api.Infrastructure.Jobs;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.Telemetry;
using Exchange.Api.Infrastructure.VivoKey;
using Exchange.Domain.Audit;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Features.Challenges;

/// <summary>
/// Sends a challenge to VivoKey's Validation API with the member's access token (refreshed first
/// if it would expire before the deadline). Network errors, 408, 429 and 5xx are retried with backoff until
/// the deadline, then the request fails and its funds are released. A 401 or 403 (whatever its body) is the
/// token: one refresh and one resend, then the request ends token_expired. Any other refusal ends it at once. Safe to run twice: the same id
/// is sent, and VivoKey's "duplicate-id" answer means an earlier send got through.
/// The dispatcher runs it the moment the request commits; Hangfire runs the retries.
/// </summary>
public sealed class SendChallenge(
    ExchangeDbContext db,
    MemberTokens tokens,
    ValidationApiClient validation,
    ChallengeKeys keys,
    RequestOutcomes outcomes,
    JobScheduler jobs,
    TimeProvider clock,
    CrashPoints crash,
    ILogger<SendChallenge> logger) : IWorkStep
{
    private const int MinVivoKeyTimeout = 30;
    private const int MaxVivoKeyTimeout = 86400;

    public async Task RunAsync(Guid challengeId, CancellationToken cancellationToken)
    {
        db.Actor = Actors.System;
        var fields = LogFields.Challenge(challengeId);
        using var scope = logger.BeginScope(fields);
        var challenge = await db.Challenges.AsNoTracking().SingleOrDefaultAsync(c => c.Id == challengeId, cancellationToken);
        if (challenge is null || challenge.State != ChallengeState.Sending || challenge.SealedId is null)
        {
            return;
        }

        fields.WithRequest(challenge.RequestKind, challenge.RequestId);

        var now = clock.GetUtcNow();
        if (now >= challenge.Deadline)
        {
            await EndAsync(challengeId, RequestStatus.Failed, $"VivoKey could not be reached before the deadline ({challenge.LastSendError}).", cancellationToken);
            return;
        }

        var access = await tokens.GetAccessTokenAsync(challenge.MemberId, challenge.Deadline, challenge.RejectedTokenGeneration, cancellationToken);
        if (access is null)
        {
            await EndAsync(challengeId, RequestStatus.TokenExpired, "The member's VivoKey session has expired; sign in again.", cancellationToken);
            return;
        }

        var id = keys.Open(challenge.SealedId);
        var timeout = (int)Math.Clamp(Math.Floor((challenge.Deadline - now).TotalSeconds), MinVivoKeyTimeout, MaxVivoKeyTimeout);
        var result = await validation.SendAsync(access.AccessToken, id, challenge.Message, timeout, cancellationToken);
        if (result.Answer == ValidationAnswer.TokenRejected)
        {
            // Our clock said the token was good; VivoKey disagrees (by status or by body). One refresh, unless another
            // send already refreshed, and one resend; then the member must sign in again.
            logger.LogInformation("VivoKey rejected the member's token ({Status} {Error}); refreshing once", result.Status, result.Error);
            access = await tokens.GetAccessTokenAsync(challenge.MemberId, challenge.Deadline, access.Generation, cancellationToken);
            result = access is null ? result : await validation.SendAsync(access.AccessToken, id, challenge.Message, timeout, cancellationToken);
        }

        if (result.Answer == ValidationAnswer.Accepted)
        {
            crash.At("after-challenge-post");
        }

        switch (result.Answer)
        {
            case ValidationAnswer.Accepted:
                await RecordAcceptedAsync(challengeId, result.VivoId, access!.Generation, cancellationToken);
                break;
            case ValidationAnswer.Refused when result.Error == "duplicate-id":
                // An earlier POST with this id went through but its answer was lost: wait for the callback.
                await RecordAcceptedAsync(challengeId, null, access!.Generation, cancellationToken);
                break;
            // Refused even after a refresh, or no refresh to be had: the member must sign in again.
            case ValidationAnswer.TokenRejected:
                await tokens.MarkUnusableAsync(challenge.MemberId, cancellationToken);
                await EndAsync(challengeId, RequestStatus.TokenExpired, "The member's VivoKey session has expired; sign in again.", cancellationToken, result);
                break;
            case ValidationAnswer.Refused:
                await EndAsync(challengeId, RequestStatus.Rejected, $"VivoKey refused the challenge: {result.Error} {result.Message}".Trim(), cancellationToken, result);
                break;
            default:
                await RetryLaterAsync(challengeId, $"{result.Error}: {result.Message}", cancellationToken);
                break;
        }
    }

    private Task RecordAcceptedAsync(Guid challengeId, string? vivoId, int tokenGeneration, CancellationToken cancellationToken) =>
        db.InTransactionAsync(async () =>
        {
            var challenge = await db.LockChallengeAsync(challengeId, cancellationToken);
            challenge.RecordAccepted(vivoId, tokenGeneration);
            challenge.RecordSendAttempt();
            db.Audit("challenge.accepted", $"{challenge.RequestKind.ToWire()}:{challenge.RequestId}", new { vivoId, attempts = challenge.SendAttempts }, clock.GetUtcNow());
            db.WhenCommitted(() => logger.LogDebug("VivoKey accepted the challenge (vivo_id {VivoId}) after {Attempts} attempts", vivoId, challenge.SendAttempts));
        }, cancellationToken);

    private async Task RetryLaterAsync(Guid challengeId, string error, CancellationToken cancellationToken)
    {
        var delay = await db.InTransactionAsync(async () =>
        {
            var challenge = await db.LockChallengeAsync(challengeId, cancellationToken);
            if (challenge.State != ChallengeState.Sending)
            {
                return (TimeSpan?)null;
            }

            var now = clock.GetUtcNow();
            // 1, 2, 4, … 30 s between attempts, never past the deadline.
            var wait = TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, Math.Min(challenge.SendAttempts, 5))));
            var next = now + wait;
            if (next >= challenge.Deadline)
            {
                await EndWithinAsync(challenge, RequestStatus.Failed, $"VivoKey could not be reached before the deadline ({error}).", cancellationToken);
                return null;
            }

            challenge.RecordSendFailure(error, next);
            // The POST may have reached VivoKey and opened a challenge whose vivo_id only its callback will tell.
            challenge.RecordUnansweredSend();
            db.Audit("challenge.send_failed", $"{challenge.RequestKind.ToWire()}:{challenge.RequestId}", new { error, attempt = challenge.SendAttempts, nextAttemptAt = next }, now);
            return wait;
        }, cancellationToken);

        if (delay is { } wait)
        {
            logger.LogWarning("Challenge {ChallengeId} not delivered ({Error}); retrying in {Delay}", challengeId, error, wait);
            jobs.SendChallengeLater(challengeId, wait);
        }
    }

    /// <summary>Ends the request; a refusal's status and body go to the audit trail for the operator.</summary>
    private Task EndAsync(Guid challengeId, RequestStatus outcome, string error, CancellationToken cancellationToken, ValidationResult? refusal = null) =>
        db.InTransactionAsync(async () =>
        {
            var challenge = await db.LockChallengeAsync(challengeId, cancellationToken);
            if (refusal is not null && !challenge.IsEnded)
            {
                db.Audit("challenge.refused", $"{challenge.RequestKind.ToWire()}:{challenge.RequestId}",
                    new { status = refusal.Status, error = refusal.Error, message = refusal.Message, body = refusal.Body }, clock.GetUtcNow());
            }

            await EndWithinAsync(challenge, outcome, error, cancellationToken);
        }, cancellationToken);

    private Task EndWithinAsync(Challenge challenge, RequestStatus outcome, string error, CancellationToken cancellationToken) =>
        outcomes.EndPendingAsync(challenge, outcome, error, cancellationToken);
}

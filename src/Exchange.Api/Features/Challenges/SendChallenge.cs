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
    private const string SignInAgain = "The member's VivoKey session has expired; sign in again.";

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
        // The id this run sends: a token-expired callback may issue the challenge again under a new one meanwhile,
        // and what VivoKey answers about this one must then not be written onto the new one.
        var sent = challenge.IdHash;

        var now = clock.GetUtcNow();
        if (now >= challenge.Deadline)
        {
            await EndAsync(challengeId, sent, RequestStatus.Failed, $"VivoKey could not be reached before the deadline ({challenge.LastSendError}).", cancellationToken);
            return;
        }

        var access = await AccessOrEndAsync(challenge, sent, challenge.RejectedTokenGeneration, refusal: null, cancellationToken);
        if (access is null)
        {
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
            access = await AccessOrEndAsync(challenge, sent, access.Generation, result, cancellationToken);
            if (access is null)
            {
                return;
            }

            result = await validation.SendAsync(access.AccessToken, id, challenge.Message, timeout, cancellationToken);
        }

        if (result.Answer == ValidationAnswer.Accepted)
        {
            crash.At("after-challenge-post");
        }

        switch (result.Answer)
        {
            case ValidationAnswer.Accepted:
                await RecordAcceptedAsync(challengeId, sent, result.VivoId, access.Generation, cancellationToken);
                break;
            case ValidationAnswer.Refused when result.Error == "duplicate-id":
                // An earlier POST with this id went through but its answer was lost: wait for the callback.
                await RecordAcceptedAsync(challengeId, sent, null, access.Generation, cancellationToken);
                break;
            // Refused even after a refresh: the member must sign in again, unless another send has a newer token by now.
            case ValidationAnswer.TokenRejected:
                await tokens.MarkUnusableAsync(challenge.MemberId, access.Generation, cancellationToken);
                await EndAsync(challengeId, sent, RequestStatus.TokenExpired, SignInAgain, cancellationToken, result);
                break;
            case ValidationAnswer.Refused:
                await EndAsync(challengeId, sent, RequestStatus.Rejected, $"VivoKey refused the challenge: {result.Error} {result.Message}".Trim(), cancellationToken, result);
                break;
            default:
                await RetryLaterAsync(challengeId, sent, $"{result.Error}: {result.Message}", unanswered: true, cancellationToken);
                break;
        }
    }

    /// <summary>
    /// A token to send with, refreshed past <paramref name="rejectedGeneration"/> if VivoKey refused that one. Null when
    /// there is none to be had now: the send is retried later (the token endpoint is down or busy) or the request ends
    /// token_expired (no refresh to be had; <paramref name="refusal"/>, VivoKey's answer that led here, is audited).
    /// </summary>
    private async Task<MemberAccess?> AccessOrEndAsync(Challenge challenge, byte[] sent, int? rejectedGeneration, ValidationResult? refusal, CancellationToken cancellationToken)
    {
        MemberAccess? access;
        try
        {
            access = await tokens.GetAccessTokenAsync(challenge.MemberId, challenge.Deadline, rejectedGeneration, cancellationToken);
        }
        catch (TokenEndpointUnavailableException unavailable)
        {
            await RetryLaterAsync(challenge.Id, sent, unavailable.Message, unanswered: false, cancellationToken);
            return null;
        }

        if (access is null)
        {
            await EndAsync(challenge.Id, sent, RequestStatus.TokenExpired, SignInAgain, cancellationToken, refusal);
        }

        return access;
    }

    private Task RecordAcceptedAsync(Guid challengeId, byte[] sent, string? vivoId, int tokenGeneration, CancellationToken cancellationToken) =>
        db.InTransactionAsync(async () =>
        {
            var challenge = await db.LockChallengeAsync(challengeId, cancellationToken);
            if (IsReissued(challenge, sent))
            {
                return;
            }

            challenge.RecordAccepted(vivoId, tokenGeneration);
            challenge.RecordSendAttempt();
            db.Audit("challenge.accepted", $"{challenge.RequestKind.ToWire()}:{challenge.RequestId}", new { vivoId, attempts = challenge.SendAttempts }, clock.GetUtcNow());
            db.WhenCommitted(() => logger.LogDebug("VivoKey accepted the challenge (vivo_id {VivoId}) after {Attempts} attempts", vivoId, challenge.SendAttempts));
        }, cancellationToken);

    /// <summary>Whether the challenge was issued again since this run read it: what VivoKey said of the old id is moot.</summary>
    private bool IsReissued(Challenge challenge, byte[] sent)
    {
        if (challenge.IdHash.AsSpan().SequenceEqual(sent))
        {
            return false;
        }

        logger.LogInformation("The challenge was issued again under a new id while its old one was being sent; the old answer is ignored");
        return true;
    }

    private async Task RetryLaterAsync(Guid challengeId, byte[] sent, string error, bool unanswered, CancellationToken cancellationToken)
    {
        var delay = await db.InTransactionAsync(async () =>
        {
            var challenge = await db.LockChallengeAsync(challengeId, cancellationToken);
            if (challenge.State != ChallengeState.Sending || IsReissued(challenge, sent))
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
            if (unanswered)
            {
                // The POST may have reached VivoKey and opened a challenge whose vivo_id only its callback will tell.
                challenge.RecordUnansweredSend();
            }

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
    private Task EndAsync(Guid challengeId, byte[] sent, RequestStatus outcome, string error, CancellationToken cancellationToken, ValidationResult? refusal = null) =>
        db.InTransactionAsync(async () =>
        {
            var challenge = await db.LockChallengeAsync(challengeId, cancellationToken);
            if (IsReissued(challenge, sent))
            {
                return;
            }

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

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
/// if it would expire before the deadline). Network errors and 5xx are retried with backoff until
/// the deadline, then the request fails and its funds are released. Safe to run twice: the same id
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

        var accessToken = await tokens.GetAccessTokenAsync(challenge.MemberId, challenge.Deadline, forceRefresh: false, cancellationToken);
        if (accessToken is null)
        {
            await EndAsync(challengeId, RequestStatus.TokenExpired, "The member's VivoKey session has expired; sign in again.", cancellationToken);
            return;
        }

        var id = keys.Open(challenge.SealedId);
        var timeout = (int)Math.Clamp(Math.Floor((challenge.Deadline - now).TotalSeconds), MinVivoKeyTimeout, MaxVivoKeyTimeout);
        var result = await validation.SendAsync(accessToken, id, challenge.Message, timeout, cancellationToken);
        if (result is { Answer: ValidationAnswer.Refused, Error: "token-expired" or "invalid-token" })
        {
            // Our clock said the token was good; VivoKey disagrees. One forced refresh, then give up.
            accessToken = await tokens.GetAccessTokenAsync(challenge.MemberId, challenge.Deadline, forceRefresh: true, cancellationToken);
            result = accessToken is null ? result : await validation.SendAsync(accessToken, id, challenge.Message, timeout, cancellationToken);
        }

        if (result.Answer == ValidationAnswer.Accepted)
        {
            crash.At("after-challenge-post");
        }

        switch (result.Answer)
        {
            case ValidationAnswer.Accepted:
                await RecordAcceptedAsync(challengeId, result.VivoId, cancellationToken);
                break;
            case ValidationAnswer.Refused when result.Error == "duplicate-id":
                // An earlier POST with this id went through but its answer was lost: wait for the callback.
                await RecordAcceptedAsync(challengeId, null, cancellationToken);
                break;
            // The token expired, or VivoKey no longer knows it (revoked): the member must sign in again.
            case ValidationAnswer.Refused when result.Error is "token-expired" or "invalid-token":
                await tokens.MarkUnusableAsync(challenge.MemberId, cancellationToken);
                await EndAsync(challengeId, RequestStatus.TokenExpired, result.Message ?? "The member's VivoKey token has expired.", cancellationToken);
                break;
            case ValidationAnswer.Refused:
                await EndAsync(challengeId, RequestStatus.Rejected, $"VivoKey refused the challenge: {result.Error} {result.Message}".Trim(), cancellationToken);
                break;
            default:
                await RetryLaterAsync(challengeId, $"{result.Error}: {result.Message}", cancellationToken);
                break;
        }
    }

    private Task RecordAcceptedAsync(Guid challengeId, string? vivoId, CancellationToken cancellationToken) =>
        db.InTransactionAsync(async () =>
        {
            var challenge = await db.LockChallengeAsync(challengeId, cancellationToken);
            challenge.RecordAccepted(vivoId);
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
            db.Audit("challenge.send_failed", $"{challenge.RequestKind.ToWire()}:{challenge.RequestId}", new { error, attempt = challenge.SendAttempts, nextAttemptAt = next }, now);
            return wait;
        }, cancellationToken);

        if (delay is { } wait)
        {
            logger.LogWarning("Challenge {ChallengeId} not delivered ({Error}); retrying in {Delay}", challengeId, error, wait);
            jobs.SendChallengeLater(challengeId, wait);
        }
    }

    private Task EndAsync(Guid challengeId, RequestStatus outcome, string error, CancellationToken cancellationToken) =>
        db.InTransactionAsync(async () =>
        {
            var challenge = await db.LockChallengeAsync(challengeId, cancellationToken);
            await EndWithinAsync(challenge, outcome, error, cancellationToken);
        }, cancellationToken);

    private Task EndWithinAsync(Challenge challenge, RequestStatus outcome, string error, CancellationToken cancellationToken) =>
        outcomes.EndPendingAsync(challenge, outcome, error, cancellationToken);
}

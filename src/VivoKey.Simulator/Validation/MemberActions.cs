using OpenIddict.Abstractions;
using VivoKey.Simulator.Identity;

namespace VivoKey.Simulator.Validation;

public enum MemberAction
{
    Tap,
    Decline,
}

public enum ActionOutcome
{
    Ended,
    NotFound,
    AlreadyEnded,
}

/// <summary>What the member does on the phone: tap the implant, or decline.</summary>
public sealed class MemberActions(
    ChallengeStore store,
    CallbackDispatcher dispatcher,
    TimeProvider clock,
    IOpenIddictTokenManager tokens)
{
    public async Task<(ActionOutcome Outcome, Challenge? Challenge)> ActAsync(string vivoId, MemberAction action, CancellationToken cancellationToken)
    {
        var challenge = store.Find(vivoId);
        if (challenge is null)
        {
            return (ActionOutcome.NotFound, null);
        }

        if (!await EndAsync(challenge, action, cancellationToken))
        {
            return (ActionOutcome.AlreadyEnded, challenge);
        }

        await dispatcher.DispatchAsync(challenge, cancellationToken);
        return (ActionOutcome.Ended, challenge);
    }

    /// <summary>Ends the challenge as the action says; a tap with an expired token ends it as token-expired.</summary>
    public async Task<bool> EndAsync(Challenge challenge, MemberAction action, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (challenge.Status != ChallengeStatus.Pending)
        {
            return false;
        }

        // The deadline wins over a tap that comes after it, even if the scan has not run yet.
        if (challenge.Deadline <= now)
        {
            return false;
        }

        var outcome = action == MemberAction.Decline
            ? ChallengeStatus.Declined
            : await IsTokenExpiredAsync(challenge.TokenId, now, cancellationToken)
                ? ChallengeStatus.TokenExpired
                : ChallengeStatus.Success;
        return challenge.TryEnd(outcome, now);
    }

    private async Task<bool> IsTokenExpiredAsync(string tokenId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var token = await tokens.FindByIdAsync(tokenId, cancellationToken);
        return token is null || await tokens.IsExpiredAsync(token, now, cancellationToken);
    }
}

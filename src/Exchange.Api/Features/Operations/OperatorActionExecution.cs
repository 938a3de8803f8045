using Exchange.Api.Bookkeeping;
using Exchange.Api.Infrastructure.Jobs;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Audit;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Exchange.Domain.Operations;

namespace Exchange.Api.Features.Operations;

/// <summary>
/// The operator's tap on an operator action's challenge, in the callback's transaction: a decline
/// or timeout ends the action with nothing done; a success carries it out, if the request still
/// stands where it did (checked again now, under its challenge's lock), as the operator.
/// </summary>
public sealed class OperatorActionExecution(
    ExchangeDbContext db, RequestOutcomes outcomes, JobScheduler jobs, Infrastructure.CrashPoints crash, TimeProvider clock)
{
    /// <summary>Applies the callback to a locked, not yet ended operator challenge, in the callback's transaction.</summary>
    public async Task ApplyAsync(Challenge challenge, bool success, string? error, string? vivoId, CancellationToken cancellationToken)
    {
        if (!success)
        {
            var status = Challenge.StatusFor(false, error);
            await outcomes.EndPendingAsync(challenge, status, $"The operator's challenge ended: {error}.", cancellationToken);
            challenge.RecordAccepted(vivoId);
            return;
        }

        var now = clock.GetUtcNow();
        var action = await db.LockOperatorActionAsync(challenge.RequestId, cancellationToken);
        challenge.End("success", now, vivoId);
        if (action.IsEnded)
        {
            return;
        }

        // Everything that follows is the operator's doing, confirmed with their own implant.
        db.Actor = Actors.Operator(action.OperatorSubject);
        var (done, result) = await CarryOutAsync(action, cancellationToken);
        action.End(done ? OperatorActionStatus.Executed : OperatorActionStatus.NotApplicable, result, now);
        db.Audit($"{RequestKind.OperatorAction.ToWire()}.{action.Status.ToWire()}", action.AuditSubject,
            new { action = action.Kind.ToWire(), target = action.TargetSubject, result }, now);
        db.WhenCommitted(() => crash.At("after-operator-action"));
    }

    private async Task<(bool Done, string Result)> CarryOutAsync(OperatorAction action, CancellationToken cancellationToken)
    {
        // The target's challenge before the target, as every writer of a request does.
        var targetChallenge = await db.LockChallengeOfRequestAsync(action.TargetId, cancellationToken);
        var request = await outcomes.FindAsync(action.TargetKind, action.TargetId, cancellationToken);
        if (request is null || !action.Kind.AppliesTo(action.TargetKind, request.Status))
        {
            return (false, $"Nothing done: the {action.TargetKind.ToWire()} is now {request?.Status.ToWire() ?? "gone"}.");
        }

        switch (action.Kind)
        {
            case OperatorActionKind.Cancel:
                await outcomes.EndAsync(request, targetChallenge, RequestStatus.Cancelled,
                    $"Cancelled by operator {action.OperatorSubject}: {action.Reason}", cancellationToken);
                return (true, $"The {action.TargetKind.ToWire()} was cancelled and its held funds released.");

            case OperatorActionKind.RetrySend:
                if (targetChallenge is null || !targetChallenge.SendAgainAt(clock.GetUtcNow()))
                {
                    return (false, "Nothing done: VivoKey had already accepted the challenge.");
                }

                var challengeId = targetChallenge.Id;
                db.WhenCommitted(() => jobs.SendChallenge(challengeId));
                return (true, "The challenge is being sent to VivoKey again.");

            case OperatorActionKind.Rebroadcast:
                var withdrawalId = request.Id;
                // The job broadcasts the stored bytes again; it never signs anew.
                db.WhenCommitted(() => jobs.DriveWithdrawal(withdrawalId));
                return (true, "The signed transaction is being broadcast again.");

            default:
                throw new InvalidOperationException($"Unknown operator action {action.Kind}.");
        }
    }
}

using Exchange.Api.Features.Balances;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Exchange.Domain.Operations;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Features.Challenges;

/// <summary>Ends requests before signing (releasing their held funds) and finds the request behind a challenge.</summary>
public sealed class RequestOutcomes(ExchangeDbContext db, LedgerPostings ledger, TimeProvider clock)
{
    public async Task<ApprovalRequest?> FindAsync(Challenge challenge, CancellationToken cancellationToken) => await FindAsync(challenge.RequestKind, challenge.RequestId, cancellationToken);

    public async Task<ApprovalRequest?> FindAsync(string kind, Guid id, CancellationToken cancellationToken) => kind switch
    {
        "withdrawal" => await db.Withdrawals.SingleOrDefaultAsync(w => w.Id == id, cancellationToken),
        "transfer" => await db.Transfers.SingleOrDefaultAsync(t => t.Id == id, cancellationToken),
        _ => throw new InvalidOperationException($"Unknown request kind '{kind}'."),
    };

    /// <summary>Ends the request and its challenge and gives the held funds back, in the caller's transaction.</summary>
    public async Task EndAsync(ApprovalRequest request, Challenge? challenge, RequestStatus outcome, string? error, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        request.End(outcome, now, error);
        challenge?.End(outcome.ToWire(), now);
        await ledger.ReleaseAsync(request, cancellationToken);
    }

    /// <summary>
    /// Ends what a locked challenge was for, if it still waits for the tap: a trader's request (funds
    /// released) or an operator's action (nothing done). Returns the outcome given, or null when
    /// the request had already moved on (the challenge is ended to match).
    /// </summary>
    public async Task<RequestStatus?> EndPendingAsync(Challenge challenge, RequestStatus outcome, string reason, CancellationToken cancellationToken)
    {
        if (challenge.IsEnded)
        {
            return null;
        }

        var now = clock.GetUtcNow();
        if (challenge.RequestKind == OperatorAction.ChallengeKind)
        {
            var action = await db.LockOperatorActionAsync(challenge.RequestId, cancellationToken);
            challenge.End(outcome.ToWire(), now);
            var status = outcome switch
            {
                RequestStatus.Declined => OperatorActionStatus.Declined,
                RequestStatus.Expired => OperatorActionStatus.Expired,
                _ => OperatorActionStatus.Failed,
            };
            if (!action.End(status, reason, now))
            {
                return null;
            }

            db.Audit($"{OperatorAction.ChallengeKind}.{status.ToWire()}", action.AuditSubject, new { action = action.Kind.ToWire(), target = action.TargetSubject, reason }, now);
            return outcome;
        }

        var request = await FindAsync(challenge, cancellationToken)
            ?? throw new InvalidOperationException($"Challenge {challenge.Id} has no request.");
        if (request.Status != RequestStatus.PendingApproval)
        {
            challenge.End(request.Status.ToWire(), now);
            return null;
        }

        await EndAsync(request, challenge, outcome, reason, cancellationToken);
        return outcome;
    }
}

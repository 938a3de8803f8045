using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Exchange.Domain.Operations;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Bookkeeping;

/// <summary>Ends requests before signing (releasing their held funds) and finds the request behind a challenge.</summary>
public sealed class RequestOutcomes(ExchangeDbContext db, LedgerPostings ledger, TimeProvider clock)
{
    public async Task<ApprovalRequest?> FindAsync(Challenge challenge, CancellationToken cancellationToken) => await FindAsync(challenge.RequestKind, challenge.RequestId, cancellationToken);

    public async Task<ApprovalRequest?> FindAsync(RequestKind kind, Guid id, CancellationToken cancellationToken) => kind switch
    {
        // Find: a request already loaded in this unit of work (see PrepareToEndAsync) costs no round trip.
        RequestKind.Withdrawal => await db.Withdrawals.FindAsync([id], cancellationToken),
        RequestKind.Transfer => await db.Transfers.FindAsync([id], cancellationToken),
        _ => throw new InvalidOperationException($"Unknown request kind '{kind}'."),
    };

    /// <summary>
    /// Before ending many locked challenges in one transaction: loads their requests in two queries and
    /// locks their members' balances in one, in a fixed order, so each ending then costs no round trip.
    /// </summary>
    public async Task PrepareToEndAsync(IReadOnlyCollection<Challenge> challenges, CancellationToken cancellationToken)
    {
        var withdrawalIds = challenges.Where(c => c.RequestKind == RequestKind.Withdrawal).Select(c => c.RequestId).ToArray();
        var transferIds = challenges.Where(c => c.RequestKind == RequestKind.Transfer).Select(c => c.RequestId).ToArray();
        var members = new List<Guid>();
        if (withdrawalIds.Length > 0)
        {
            members.AddRange((await db.Withdrawals.Where(w => withdrawalIds.Contains(w.Id)).ToListAsync(cancellationToken)).Select(w => w.MemberId));
        }

        if (transferIds.Length > 0)
        {
            members.AddRange((await db.Transfers.Where(t => transferIds.Contains(t.Id)).ToListAsync(cancellationToken)).Select(t => t.MemberId));
        }

        await ledger.LockAllAsync(members, cancellationToken);
    }

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
        if (challenge.RequestKind == RequestKind.OperatorAction)
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

            db.Audit($"{RequestKind.OperatorAction.ToWire()}.{status.ToWire()}", action.AuditSubject, new { action = action.Kind.ToWire(), target = action.TargetSubject, reason }, now);
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

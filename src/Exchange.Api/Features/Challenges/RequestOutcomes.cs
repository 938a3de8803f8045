using Exchange.Api.Features.Balances;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Features.Challenges;

/// <summary>Ends requests before signing (releasing their held funds) and finds the request behind a challenge.</summary>
public sealed class RequestOutcomes(ExchangeDbContext db, LedgerPostings ledger, TimeProvider clock)
{
    public async Task<ApprovalRequest?> FindAsync(Challenge challenge, CancellationToken cancellationToken) => challenge.RequestKind switch
    {
        "withdrawal" => await db.Withdrawals.SingleOrDefaultAsync(w => w.Id == challenge.RequestId, cancellationToken),
        "transfer" => await db.Transfers.SingleOrDefaultAsync(t => t.Id == challenge.RequestId, cancellationToken),
        _ => throw new InvalidOperationException($"Unknown request kind '{challenge.RequestKind}'."),
    };

    /// <summary>Ends the request and its challenge and gives the held funds back, in the caller's transaction.</summary>
    public async Task EndAsync(ApprovalRequest request, Challenge? challenge, RequestStatus outcome, string? error, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        request.End(outcome, now, error);
        challenge?.End(outcome.ToWire(), now);
        await ledger.ReleaseAsync(request, cancellationToken);
    }
}

using System.Numerics;
using Exchange.Domain.Common;

namespace Exchange.Domain.Transfers;

/// <summary>Funds moving to another member inside the ledger: pending_approval → approved → confirmed.</summary>
public sealed class Transfer : ApprovalRequest
{
    private Transfer()
    {
    }

    public Transfer(Guid id, Guid memberId, Asset asset, BigInteger amount, Guid toMemberId, DateTimeOffset at)
        : base(id, memberId, asset, amount, at)
    {
        if (toMemberId == memberId)
        {
            throw new DomainException("transfer_to_self", "A transfer must go to another member.");
        }

        ToMemberId = toMemberId;
    }

    public override RequestKind Kind => RequestKind.Transfer;

    public Guid ToMemberId { get; private set; }

    /// <summary>The receiver has the funds: held of the sender → available of the receiver, in the same transaction.</summary>
    public void MarkSettled(DateTimeOffset at) => MoveTo(RequestStatus.Confirmed, at, null, RequestStatus.Approved);
}

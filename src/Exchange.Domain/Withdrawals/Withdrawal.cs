using System.Numerics;
using Exchange.Domain.Common;

namespace Exchange.Domain.Withdrawals;

/// <summary>
/// ETH leaving the exchange for an outside address: pending_approval → approved → signed →
/// broadcast → confirmed. Once signed, the funds are never released: the transaction is driven
/// until it is mined.
/// </summary>
public sealed class Withdrawal : ApprovalRequest
{
    private Withdrawal()
    {
    }

    public Withdrawal(Guid id, Guid memberId, Asset asset, BigInteger amount, string toAddress, DateTimeOffset at)
        : base(id, memberId, asset, amount, at)
    {
        ToAddress = toAddress;
    }

    public override RequestKind Kind => RequestKind.Withdrawal;

    /// <summary>EIP-55 checksummed destination.</summary>
    public string ToAddress { get; private set; } = "";

    public long? Nonce { get; private set; }

    /// <summary>The hash of the transaction in force; every hash it ever had is kept beside it.</summary>
    public string? TxHash { get; private set; }

    /// <summary>The signed bytes of the transaction in force, stored before any broadcast.</summary>
    public string? RawTransaction { get; private set; }

    public long? BlockNumber { get; private set; }
    public int? Confirmations { get; private set; }

    public void MarkSigned(long nonce, string rawTransaction, string txHash, DateTimeOffset at)
    {
        MoveTo(RequestStatus.Signed, at, null, RequestStatus.Approved);
        Nonce = nonce;
        RawTransaction = rawTransaction;
        TxHash = txHash;
    }

    /// <summary>
    /// The signer found the evidence behind the approval missing or different: never signed, and the held funds
    /// are not released (a person decides what happened).
    /// </summary>
    public void MarkTampered(string reason, DateTimeOffset at) => MoveTo(RequestStatus.Tampered, at, reason, RequestStatus.Approved);

    public void MarkBroadcast(DateTimeOffset at) => MoveTo(RequestStatus.Broadcast, at, null, RequestStatus.Signed);

    /// <summary>A replacement at the same nonce (higher fees) becomes the transaction in force.</summary>
    public void Replace(string rawTransaction, string txHash, DateTimeOffset at)
    {
        if (Status is not (RequestStatus.Signed or RequestStatus.Broadcast))
        {
            throw new InvalidTransitionException(AuditSubject, Status, Status);
        }

        RawTransaction = rawTransaction;
        TxHash = txHash;
    }

    /// <summary>
    /// A transaction the exchange did not send used this withdrawal's nonce, past the confirmation depth, and none of
    /// its own was mined: it is signed again at a fresh nonce, which becomes the one in force.
    /// </summary>
    public void Resign(long nonce, string rawTransaction, string txHash, DateTimeOffset at)
    {
        if (Status is not (RequestStatus.Signed or RequestStatus.Broadcast) || nonce == Nonce)
        {
            throw new InvalidTransitionException(AuditSubject, Status, Status);
        }

        Nonce = nonce;
        RawTransaction = rawTransaction;
        TxHash = txHash;
        ForgetBlock();
    }

    /// <summary>Seen in a block, not yet deep enough.</summary>
    public void ObserveConfirmations(long blockNumber, int confirmations)
    {
        BlockNumber = blockNumber;
        Confirmations = confirmations;
    }

    /// <summary>The block it was seen in left the chain (a reorganisation): not mined, as far as we know.</summary>
    public void ForgetBlock()
    {
        BlockNumber = null;
        Confirmations = null;
    }

    public void MarkConfirmed(string minedHash, long blockNumber, int confirmations, DateTimeOffset at)
    {
        MoveTo(RequestStatus.Confirmed, at, null, RequestStatus.Signed, RequestStatus.Broadcast);
        TxHash = minedHash;
        BlockNumber = blockNumber;
        Confirmations = confirmations;
    }

    /// <summary>Mined but reverted: no value left the hot wallet, so the held funds go back.</summary>
    public void MarkReverted(string minedHash, long blockNumber, DateTimeOffset at)
    {
        MoveTo(RequestStatus.Failed, at, "The transaction was mined but reverted.", RequestStatus.Signed, RequestStatus.Broadcast);
        TxHash = minedHash;
        BlockNumber = blockNumber;
    }
}

using System.Numerics;
using Exchange.Domain.Common;

namespace Exchange.Domain.Ledger;

/// <summary>What a member has of one asset: available to use, and held for requests awaiting their end.</summary>
public sealed class Balance
{
    private Balance()
    {
    }

    public Balance(Guid memberId, Asset asset)
    {
        MemberId = memberId;
        Asset = asset.Code;
    }

    public Guid MemberId { get; private set; }
    public string Asset { get; private set; } = "";
    public BigInteger Available { get; private set; }
    public BigInteger Held { get; private set; }
    public uint Version { get; private set; }

    public JournalEntry Credit(BigInteger amount, Guid? requestId, DateTimeOffset at)
    {
        RequirePositive(amount);
        Available += amount;
        return Entry(JournalKind.Credit, amount, 0, requestId, at);
    }

    public JournalEntry Hold(BigInteger amount, Guid requestId, DateTimeOffset at)
    {
        RequirePositive(amount);
        if (Available < amount)
        {
            throw new InsufficientFundsException(Asset);
        }

        Available -= amount;
        Held += amount;
        return Entry(JournalKind.Hold, -amount, amount, requestId, at);
    }

    public JournalEntry Release(BigInteger amount, Guid requestId, DateTimeOffset at)
    {
        TakeFromHeld(amount);
        Available += amount;
        return Entry(JournalKind.Release, amount, -amount, requestId, at);
    }

    /// <summary>Held funds leave the member for good: mined on chain, or handed to the receiver of a transfer.</summary>
    public JournalEntry SettleOut(BigInteger amount, Guid requestId, JournalKind kind, DateTimeOffset at)
    {
        if (kind is not (JournalKind.WithdrawalOut or JournalKind.TransferOut))
        {
            throw new ArgumentOutOfRangeException(nameof(kind));
        }

        TakeFromHeld(amount);
        return Entry(kind, 0, -amount, requestId, at);
    }

    public JournalEntry ReceiveTransfer(BigInteger amount, Guid requestId, DateTimeOffset at)
    {
        RequirePositive(amount);
        Available += amount;
        return Entry(JournalKind.TransferIn, amount, 0, requestId, at);
    }

    private void TakeFromHeld(BigInteger amount)
    {
        RequirePositive(amount);
        if (Held < amount)
        {
            // Never expected: it would mean a request released or settled twice.
            throw new DomainException("held_underflow", $"The held {Asset} balance is lower than the amount to take from it.");
        }

        Held -= amount;
    }

    private static void RequirePositive(BigInteger amount)
    {
        if (amount <= BigInteger.Zero)
        {
            throw new DomainException("invalid_amount", "The amount must be greater than zero.");
        }
    }

    private JournalEntry Entry(JournalKind kind, BigInteger availableDelta, BigInteger heldDelta, Guid? requestId, DateTimeOffset at) =>
        new(MemberId, Asset, kind, availableDelta, heldDelta, requestId, at);
}

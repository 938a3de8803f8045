using System.Numerics;

namespace Exchange.Domain.Ledger;

public enum JournalKind
{
    Credit,
    Hold,
    Release,
    WithdrawalOut,
    TransferOut,
    TransferIn,
}

/// <summary>
/// One movement of a balance. Per asset: Σ credits = Σ available + Σ held + Σ withdrawn out
/// (ARCHITECTURE.md, invariant 1); the journal is what proves it.
/// </summary>
public sealed class JournalEntry
{
    private JournalEntry()
    {
    }

    public JournalEntry(Guid memberId, string asset, JournalKind kind, BigInteger availableDelta, BigInteger heldDelta, Guid? requestId, DateTimeOffset at)
    {
        MemberId = memberId;
        Asset = asset;
        Kind = kind;
        AvailableDelta = availableDelta;
        HeldDelta = heldDelta;
        RequestId = requestId;
        At = at;
    }

    public long Id { get; private set; }
    public Guid MemberId { get; private set; }
    public string Asset { get; private set; } = "";
    public JournalKind Kind { get; private set; }
    public BigInteger AvailableDelta { get; private set; }
    public BigInteger HeldDelta { get; private set; }
    public Guid? RequestId { get; private set; }
    public DateTimeOffset At { get; private set; }
}

public static class JournalKinds
{
    private static readonly Dictionary<JournalKind, string> Wire = new()
    {
        [JournalKind.Credit] = "credit",
        [JournalKind.Hold] = "hold",
        [JournalKind.Release] = "release",
        [JournalKind.WithdrawalOut] = "withdrawal_out",
        [JournalKind.TransferOut] = "transfer_out",
        [JournalKind.TransferIn] = "transfer_in",
    };

    public static string ToWire(JournalKind kind) => Wire[kind];

    public static JournalKind Parse(string wire) => Wire.Single(p => p.Value == wire).Key;
}

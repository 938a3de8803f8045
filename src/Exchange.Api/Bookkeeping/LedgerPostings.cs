using System.Numerics;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Common;
using Exchange.Domain.Ledger;
using Exchange.Domain.Transfers;
using Exchange.Domain.Withdrawals;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Bookkeeping;

/// <summary>
/// Moves money between a member's available and held balances, always under a row lock
/// (SELECT … FOR UPDATE) inside the caller's transaction, and writes the journal beside it.
/// </summary>
public sealed class LedgerPostings(ExchangeDbContext db, TimeProvider clock)
{
    // Balances already locked in the current transaction: a row lock lasts until the transaction ends, so
    // a second posting to the same balance in it needs no second SELECT … FOR UPDATE.
    private readonly Dictionary<(Guid MemberId, string Asset), Balance> _locked = [];
    private object? _lockedIn;

    public async Task CreditAsync(Guid memberId, Asset asset, BigInteger amount, CancellationToken cancellationToken)
    {
        await EnsureRowAsync(memberId, asset.Code, cancellationToken);
        var balance = await LockAsync(memberId, asset.Code, cancellationToken)
            ?? throw new InvalidOperationException("The balance row was just created.");
        db.JournalEntries.Add(balance.Credit(amount, null, clock.GetUtcNow()));
    }

    public async Task HoldAsync(ApprovalRequest request, CancellationToken cancellationToken)
    {
        var balance = await LockAsync(request.MemberId, request.Asset, cancellationToken)
            ?? throw new InsufficientFundsException(request.Asset);
        db.JournalEntries.Add(balance.Hold(request.Amount, request.Id, clock.GetUtcNow()));
    }

    public async Task ReleaseAsync(ApprovalRequest request, CancellationToken cancellationToken)
    {
        var balance = await LockAsync(request.MemberId, request.Asset, cancellationToken)
            ?? throw new InvalidOperationException($"{request.AuditSubject} holds funds of a member with no balance.");
        db.JournalEntries.Add(balance.Release(request.Amount, request.Id, clock.GetUtcNow()));
    }

    /// <summary>The withdrawal was mined: its held funds have left the exchange.</summary>
    public async Task SettleWithdrawalAsync(Withdrawal withdrawal, CancellationToken cancellationToken)
    {
        var balance = await LockAsync(withdrawal.MemberId, withdrawal.Asset, cancellationToken)
            ?? throw new InvalidOperationException($"{withdrawal.AuditSubject} holds funds of a member with no balance.");
        db.JournalEntries.Add(balance.SettleOut(withdrawal.Amount, withdrawal.Id, JournalKind.WithdrawalOut, clock.GetUtcNow()));
    }

    /// <summary>Held of the sender → available of the receiver, in the caller's transaction.</summary>
    public async Task SettleTransferAsync(Transfer transfer, CancellationToken cancellationToken)
    {
        await EnsureRowAsync(transfer.ToMemberId, transfer.Asset, cancellationToken);

        // Lock both rows in one fixed order so two opposite transfers cannot deadlock.
        var first = transfer.MemberId.CompareTo(transfer.ToMemberId) < 0 ? transfer.MemberId : transfer.ToMemberId;
        var second = first == transfer.MemberId ? transfer.ToMemberId : transfer.MemberId;
        var a = await LockAsync(first, transfer.Asset, cancellationToken);
        var b = await LockAsync(second, transfer.Asset, cancellationToken);
        var sender = first == transfer.MemberId ? a! : b!;
        var receiver = first == transfer.MemberId ? b! : a!;
        var now = clock.GetUtcNow();
        db.JournalEntries.Add(sender.SettleOut(transfer.Amount, transfer.Id, JournalKind.TransferOut, now));
        db.JournalEntries.Add(receiver.ReceiveTransfer(transfer.Amount, transfer.Id, now));
    }

    /// <summary>Creates the balance row if needed, without a check-then-insert race.</summary>
    private Task EnsureRowAsync(Guid memberId, string asset, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlAsync(
            $"INSERT INTO balances (member_id, asset, available, held) VALUES ({memberId}, {asset}, 0, 0) ON CONFLICT DO NOTHING",
            cancellationToken);

    /// <summary>
    /// Locks the balances of many members at once, in one fixed order (member, asset), before postings
    /// to them in any order: a batch (the reconciler ending due requests) never deadlocks with a transfer,
    /// which locks its two balances in the same order.
    /// </summary>
    public async Task LockAllAsync(IEnumerable<Guid> memberIds, CancellationToken cancellationToken)
    {
        var members = memberIds.Distinct().ToArray();
        if (members.Length == 0)
        {
            return;
        }

        var balances = await db.LockBalancesAsync(members, cancellationToken);
        var locked = Locked();
        foreach (var balance in balances)
        {
            locked[(balance.MemberId, balance.Asset)] = balance;
        }
    }

    private async Task<Balance?> LockAsync(Guid memberId, string asset, CancellationToken cancellationToken)
    {
        var locked = Locked();
        if (locked.TryGetValue((memberId, asset), out var held))
        {
            return held;
        }

        var balance = await db.LockBalanceAsync(memberId, asset, cancellationToken);
        if (balance is not null && db.Database.CurrentTransaction is not null)
        {
            locked[(memberId, asset)] = balance;
        }

        return balance;
    }

    /// <summary>The locks of the current transaction; a new transaction starts with none.</summary>
    private Dictionary<(Guid MemberId, string Asset), Balance> Locked()
    {
        var transaction = db.Database.CurrentTransaction;
        if (!ReferenceEquals(transaction, _lockedIn))
        {
            _locked.Clear();
            _lockedIn = transaction;
        }

        return _locked;
    }
}

using Exchange.Domain.Challenges;
using Exchange.Domain.Ledger;
using Exchange.Domain.Operations;
using Exchange.Domain.Withdrawals;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Infrastructure.Persistence;

/// <summary>
/// Every row lock the exchange takes (SELECT … FOR UPDATE), in one place. Writers that need several take
/// them in this one order, so they queue instead of deadlocking:
/// <list type="number">
/// <item>the challenge (an operator action's own challenge before its target's);</item>
/// <item>the operator action;</item>
/// <item>the request: withdrawals (several: by id), transfers;</item>
/// <item>the hot wallet;</item>
/// <item>balances, by member then asset;</item>
/// <item>the member's VivoKey tokens.</item>
/// </list>
/// Whatever ends a request (callback, cancel, send step, reconciler, operator action) locks its challenge
/// first, so any two of them racing run one after the other and the second finds it ended.
/// </summary>
public static class RowLocks
{
    public static Task<Challenge> LockChallengeAsync(this ExchangeDbContext db, Guid challengeId, CancellationToken cancellationToken) =>
        db.Challenges.FromSql($"SELECT *, xmin FROM challenges WHERE id = {challengeId} FOR UPDATE").SingleAsync(cancellationToken);

    /// <summary>The challenge a callback names (by the hash of its id), if any.</summary>
    public static Task<Challenge?> LockChallengeByIdHashAsync(this ExchangeDbContext db, byte[] idHash, CancellationToken cancellationToken) =>
        db.Challenges.FromSql($"SELECT *, xmin FROM challenges WHERE id_hash = {idHash} FOR UPDATE").SingleOrDefaultAsync(cancellationToken);

    public static Task<Challenge?> LockChallengeOfRequestAsync(this ExchangeDbContext db, Guid requestId, CancellationToken cancellationToken) =>
        db.Challenges.FromSql($"SELECT *, xmin FROM challenges WHERE request_id = {requestId} FOR UPDATE").SingleOrDefaultAsync(cancellationToken);

    /// <summary>Many challenges at once, in id order; one that another writer holds now is skipped (it decides).</summary>
    public static Task<List<Challenge>> LockChallengesSkippingHeldAsync(this ExchangeDbContext db, Guid[] challengeIds, CancellationToken cancellationToken) =>
        db.Challenges.FromSql($"SELECT *, xmin FROM challenges WHERE id = ANY({challengeIds}) ORDER BY id FOR UPDATE SKIP LOCKED")
            .ToListAsync(cancellationToken);

    /// <summary>Taken after the action's challenge, as every writer of a request takes its challenge first.</summary>
    public static Task<OperatorAction> LockOperatorActionAsync(this ExchangeDbContext db, Guid actionId, CancellationToken cancellationToken) =>
        db.OperatorActions.FromSql($"SELECT *, xmin FROM operator_actions WHERE id = {actionId} FOR UPDATE").SingleAsync(cancellationToken);

    public static Task<Withdrawal?> LockWithdrawalAsync(this ExchangeDbContext db, Guid withdrawalId, CancellationToken cancellationToken) =>
        db.Withdrawals.FromSql($"SELECT *, xmin FROM withdrawals WHERE id = {withdrawalId} FOR UPDATE").SingleOrDefaultAsync(cancellationToken);

    /// <summary>Those of the withdrawals still in <paramref name="status"/>, in id order; one another worker holds is skipped.</summary>
    public static Task<List<Withdrawal>> LockWithdrawalsSkippingHeldAsync(this ExchangeDbContext db, Guid[] withdrawalIds, string status, CancellationToken cancellationToken) =>
        db.Withdrawals.FromSql($"SELECT *, xmin FROM withdrawals WHERE id = ANY({withdrawalIds}) AND status = {status} ORDER BY id FOR UPDATE SKIP LOCKED")
            .ToListAsync(cancellationToken);

    /// <summary>The hot wallet's row: its next nonce. One signer at a time, across instances.</summary>
    public static Task<HotWalletState> LockHotWalletAsync(this ExchangeDbContext db, string address, CancellationToken cancellationToken) =>
        db.HotWallets.FromSql($"SELECT * FROM hot_wallets WHERE address = {address} FOR UPDATE").SingleAsync(cancellationToken);

    /// <summary>Every balance of these members, in (member, asset) order.</summary>
    public static Task<List<Balance>> LockBalancesAsync(this ExchangeDbContext db, Guid[] memberIds, CancellationToken cancellationToken) =>
        db.Balances.FromSql($"SELECT *, xmin FROM balances WHERE member_id = ANY({memberIds}) ORDER BY member_id, asset FOR UPDATE")
            .ToListAsync(cancellationToken);

    public static Task<Balance?> LockBalanceAsync(this ExchangeDbContext db, Guid memberId, string asset, CancellationToken cancellationToken) =>
        db.Balances.FromSql($"SELECT *, xmin FROM balances WHERE member_id = {memberId} AND asset = {asset} FOR UPDATE")
            .SingleOrDefaultAsync(cancellationToken);

    public static async Task<MemberToken> LockMemberTokenAsync(this ExchangeDbContext db, Guid memberId, CancellationToken cancellationToken) =>
        await db.LockMemberTokenIfAnyAsync(memberId, cancellationToken) ?? throw new InvalidOperationException($"Member {memberId} has no tokens.");

    /// <summary>The member's token row, locked; null before their first sign-in.</summary>
    public static Task<MemberToken?> LockMemberTokenIfAnyAsync(this ExchangeDbContext db, Guid memberId, CancellationToken cancellationToken) =>
        db.MemberTokens.FromSql($"SELECT *, xmin FROM member_tokens WHERE member_id = {memberId} FOR UPDATE").SingleOrDefaultAsync(cancellationToken);
}

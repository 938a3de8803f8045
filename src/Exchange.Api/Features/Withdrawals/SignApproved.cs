using System.Globalization;
using Exchange.Api.Infrastructure;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.Jobs;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Audit;
using Exchange.Domain.Common;
using Exchange.Domain.Withdrawals;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Features.Withdrawals;

/// <summary>
/// Signs approved withdrawals: the nonce taken under the hot wallet's row lock, the signed bytes and hash
/// stored (with their audit event) before anything is sent. Only a withdrawal whose evidence holds is
/// signed (<see cref="SigningEvidence"/>); the rest are marked tampered. Signing twice is impossible: a
/// signed withdrawal is no longer approved.
/// </summary>
public sealed class SignApproved(
    ExchangeDbContext db,
    HotWallet hotWallet,
    EthereumChain chain,
    SigningEvidence evidence,
    TimeProvider clock,
    IOptions<EthereumOptions> options,
    CrashPoints crash) : ISigningBatch
{
    /// <summary>
    /// Signs every withdrawal of the batch that is still approved under one hold of the hot wallet's row
    /// lock: a nonce each, in order, and one commit for all (a commit waits for the disk, so a burst of taps
    /// costs one wait, not one each). Returns the ones signed; a withdrawal another worker holds is skipped.
    /// </summary>
    public async Task<IReadOnlyList<Guid>> SignAsync(IReadOnlyCollection<Guid> withdrawalIds, CancellationToken cancellationToken)
    {
        db.Actor = Actors.System;
        var ids = withdrawalIds.Distinct().ToArray();
        var fees = await chain.QuoteFeesAsync(cancellationToken);
        await EnsureHotWalletRowAsync(cancellationToken);
        var signed = await db.InTransactionAsync(async () =>
        {
            // The withdrawals first, then the wallet: the order of RowLocks.
            var withdrawals = await db.LockWithdrawalsSkippingHeldAsync(ids, RequestStatus.Approved.ToWire(), cancellationToken);
            return withdrawals.Count == 0 ? [] : await SignLockedAsync(withdrawals, fees, cancellationToken);
        }, cancellationToken);
        if (signed.Count > 0)
        {
            crash.At("after-sign");
        }

        return signed;
    }

    /// <summary>Signs the withdrawal if it is approved; returns its status after (null: no such withdrawal).</summary>
    public async Task<RequestStatus?> SignIfApprovedAsync(Guid withdrawalId, CancellationToken cancellationToken)
    {
        var status = await StatusAsync(withdrawalId, cancellationToken);
        if (status != RequestStatus.Approved)
        {
            return status;
        }

        var fees = await chain.QuoteFeesAsync(cancellationToken);
        await EnsureHotWalletRowAsync(cancellationToken);
        await db.InTransactionAsync(async () =>
        {
            var withdrawal = await db.LockWithdrawalAsync(withdrawalId, cancellationToken);
            if (withdrawal?.Status == RequestStatus.Approved)
            {
                await SignLockedAsync([withdrawal], fees, cancellationToken);
            }
        }, cancellationToken);
        crash.At("after-sign");
        return await StatusAsync(withdrawalId, cancellationToken);
    }

    public Task<RequestStatus?> StatusAsync(Guid id, CancellationToken cancellationToken) =>
        db.Withdrawals.AsNoTracking().Where(w => w.Id == id).Select(w => (RequestStatus?)w.Status).SingleOrDefaultAsync(cancellationToken);

    /// <summary>
    /// Signs locked, approved withdrawals in the caller's transaction: the hot wallet's row lock next (one nonce
    /// per withdrawal, never two withdrawals per nonce, across instances), a nonce each in order, the signatures
    /// on every core (each is milliseconds of CPU), and the bytes, hash and audit event stored before any is sent.
    /// </summary>
    private async Task<List<Guid>> SignLockedAsync(IReadOnlyList<Withdrawal> locked, FeeQuote fees, CancellationToken cancellationToken)
    {
        var withdrawals = await evidence.KeepProvenAsync(locked, cancellationToken);
        var wallet = await db.LockHotWalletAsync(hotWallet.Address, cancellationToken);
        var now = clock.GetUtcNow();
        var nonces = withdrawals.Select(_ => wallet.NextNonce++).ToArray();
        var signatures = new SignedTransaction[withdrawals.Count];
        Parallel.For(0, withdrawals.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            i => signatures[i] = hotWallet.Sign(Intent(withdrawals[i], nonces[i], fees, options.Value)));
        for (var i = 0; i < withdrawals.Count; i++)
        {
            var (withdrawal, nonce, transaction) = (withdrawals[i], nonces[i], signatures[i]);
            Store(db, withdrawal, nonce, fees, transaction, now);
            withdrawal.MarkSigned(nonce, transaction.RawHex, transaction.Hash, now);
            db.Audit("withdrawal.transaction_signed", withdrawal.AuditSubject, new { nonce, hash = transaction.Hash, from = hotWallet.Address }, now);
        }

        return withdrawals.Select(w => w.Id).ToList();
    }

    /// <summary>What the hot wallet signs for a withdrawal: its address and amount, at this nonce and these fees.</summary>
    internal static TransferIntent Intent(Withdrawal withdrawal, long nonce, FeeQuote fees, EthereumOptions settings) =>
        new(withdrawal.ToAddress, withdrawal.Amount, nonce, fees.MaxFeePerGas, fees.MaxPriorityFeePerGas, settings.GasLimit, settings.ChainId);

    /// <summary>Every transaction a withdrawal ever had is kept, stored before it is sent.</summary>
    internal static void Store(ExchangeDbContext db, Withdrawal withdrawal, long nonce, FeeQuote fees, SignedTransaction signed, DateTimeOffset now) =>
        db.WithdrawalTransactions.Add(new WithdrawalTransaction
        {
            WithdrawalId = withdrawal.Id,
            Nonce = nonce,
            Hash = signed.Hash,
            RawTransaction = signed.RawHex,
            MaxFeePerGas = fees.MaxFeePerGas.ToString(CultureInfo.InvariantCulture),
            MaxPriorityFeePerGas = fees.MaxPriorityFeePerGas.ToString(CultureInfo.InvariantCulture),
            CreatedAt = now,
        });

    /// <summary>The first time a hot wallet is used, its next nonce is the chain's count; after that, ours.</summary>
    private async Task EnsureHotWalletRowAsync(CancellationToken cancellationToken)
    {
        if (await db.HotWallets.AsNoTracking().AnyAsync(w => w.Address == hotWallet.Address, cancellationToken))
        {
            return;
        }

        var nonce = (long)await chain.GetPendingNonceAsync(hotWallet.Address, cancellationToken);
        await db.Database.ExecuteSqlAsync(
            $"INSERT INTO hot_wallets (address, next_nonce) VALUES ({hotWallet.Address}, {nonce}) ON CONFLICT DO NOTHING",
            cancellationToken);
    }
}

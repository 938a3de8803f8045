using System.Globalization;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.Telemetry;
using Exchange.Domain.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Features.Withdrawals;

/// <summary>
/// A transaction the exchange did not send (the hot wallet's key used elsewhere) may take a withdrawal's nonce:
/// then none of the withdrawal's own transactions can ever be mined. Once the block that used the nonce is at the
/// confirmation depth (Ethereum:Confirmations) and none of the withdrawal's hashes has a receipt, the withdrawal is
/// signed again at a fresh nonce from the hot wallet's row, under the same row locks and evidence as any signature,
/// stored beside its earlier hashes, and audited as withdrawal.nonce_taken. Never before that depth: a
/// reorganisation could still drop the other transaction and mine ours.
/// </summary>
public sealed class ResignTakenNonce(
    ExchangeDbContext db,
    HotWallet hotWallet,
    EthereumChain chain,
    SigningEvidence evidence,
    TimeProvider clock,
    IOptions<EthereumOptions> options,
    ILogger<ResignTakenNonce> logger)
{
    /// <summary>How far back the audit looks for the other transaction (nodes without an archive keep about 128 blocks of state).</summary>
    private const long ForeignLookBack = 128;

    /// <summary>True when the withdrawal was signed again.</summary>
    public async Task<bool> RunAsync(Guid withdrawalId, CancellationToken cancellationToken)
    {
        var current = await db.Withdrawals.AsNoTracking().Where(w => w.Id == withdrawalId)
            .Select(w => new { w.Status, w.Nonce }).SingleOrDefaultAsync(cancellationToken);
        if (current is not { Status: RequestStatus.Signed or RequestStatus.Broadcast, Nonce: { } nonce })
        {
            return false;
        }

        // The newest block at the confirmation depth: what the hot wallet had mined by then no reorganisation we wait for can undo.
        var settings = options.Value;
        var deep = await chain.GetBlockNumberAsync(cancellationToken) - (Math.Max(1, settings.Confirmations) - 1);
        if (deep < 0 || await chain.GetMinedNonceAsync(hotWallet.Address, deep, cancellationToken) <= nonce)
        {
            return false;
        }

        // Receipts only after the count: had one of ours been mined by that block, it shows here, and FollowReceipts settles it.
        var hashes = await db.WithdrawalTransactions.AsNoTracking().Where(t => t.WithdrawalId == withdrawalId).Select(t => t.Hash).ToListAsync(cancellationToken);
        foreach (var hash in hashes)
        {
            if (await chain.GetReceiptAsync(hash, cancellationToken) is not null)
            {
                return false;
            }
        }

        var foreign = await chain.FindMinedTransactionAsync(hotWallet.Address, nonce, deep, ForeignLookBack, cancellationToken);
        var fees = await chain.QuoteFeesAsync(cancellationToken);
        return await db.InTransactionAsync(async () =>
        {
            // The withdrawal, then the hot wallet: the order of RowLocks. Signed again or settled meanwhile: nothing to do.
            var withdrawal = await db.LockWithdrawalAsync(withdrawalId, cancellationToken);
            if (withdrawal is not { Status: RequestStatus.Signed or RequestStatus.Broadcast } || withdrawal.Nonce != nonce)
            {
                return false;
            }

            var newest = await db.WithdrawalTransactions.AsNoTracking().Where(t => t.WithdrawalId == withdrawalId).OrderByDescending(t => t.Id).FirstAsync(cancellationToken);
            if (!await evidence.ProvesResigningAsync(withdrawal, newest, SignApproved.Intent(withdrawal, nonce, fees, settings), cancellationToken))
            {
                return false;
            }

            var wallet = await db.LockHotWalletAsync(hotWallet.Address, cancellationToken);
            var fresh = wallet.NextNonce++;
            var now = clock.GetUtcNow();
            var signed = hotWallet.Sign(SignApproved.Intent(withdrawal, fresh, fees, settings));
            SignApproved.Store(db, withdrawal, fresh, fees, signed, now);
            var previous = withdrawal.TxHash;
            withdrawal.Resign(fresh, signed.RawHex, signed.Hash, now);
            db.Audit("withdrawal.nonce_taken", withdrawal.AuditSubject, new
            {
                nonce,
                takenBy = foreign,
                previous,
                newNonce = fresh,
                hash = signed.Hash,
                maxFeePerGas = fees.MaxFeePerGas.ToString(CultureInfo.InvariantCulture),
            }, now);
            db.WhenCommitted(() =>
            {
                ExchangeMetrics.ChainError("nonce_taken");
                logger.LogWarning(
                    "Withdrawal {WithdrawalId}: nonce {Nonce} of hot wallet {Address} was used by a transaction the exchange did not send ({Foreign}); signed again at nonce {NewNonce} ({Hash}). Who else holds the hot wallet's key?",
                    withdrawalId, nonce, hotWallet.Address, foreign ?? "not found", fresh, signed.Hash);
            });
            return true;
        }, cancellationToken);
    }
}

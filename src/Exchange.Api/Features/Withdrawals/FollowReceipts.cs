using Exchange.Api.Bookkeeping;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.Jobs;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.Telemetry;
using Exchange.Domain.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Features.Withdrawals;

/// <summary>
/// Follows a broadcast withdrawal's receipts, for every hash it ever had: confirmed deep enough settles it
/// (the held funds leave the ledger), reverted releases them and calls an operator, mined but shallow shows
/// the trader the count growing, and a block that left the chain (a reorganisation) sends the same bytes
/// again. As a step (<see cref="WorkKind.FollowReceipts"/>): one look, at each new block.
/// </summary>
public sealed class FollowReceipts(
    ExchangeDbContext db,
    EthereumChain chain,
    LedgerPostings ledger,
    Broadcast broadcast,
    JobScheduler jobs,
    TimeProvider clock,
    IOptions<EthereumOptions> options,
    ILogger<FollowReceipts> logger) : WithdrawalStep(db, logger)
{
    /// <summary>How long one run watches for the receipt before leaving it to a later run.</summary>
    private static readonly TimeSpan ReceiptWatch = TimeSpan.FromSeconds(10);

    private readonly ExchangeDbContext _db = db;

    protected override Task RunLockedAsync(Guid withdrawalId, CancellationToken cancellationToken) => LookOnceAsync(withdrawalId, cancellationToken);

    /// <summary>One look at the receipts of every hash; true when the withdrawal is settled.</summary>
    public async Task<bool> LookOnceAsync(Guid withdrawalId, CancellationToken cancellationToken)
    {
        var required = Math.Max(1, options.Value.Confirmations);
        var anyMined = false;
        foreach (var hash in await HashesAsync(withdrawalId, cancellationToken))
        {
            var receipt = await chain.GetReceiptAsync(hash, cancellationToken);
            if (receipt is null)
            {
                continue;
            }

            anyMined = true;

            // A revert settles at the same depth as a success: until then a reorganisation may drop it or mine it again.
            if (receipt.Confirmations >= required)
            {
                await SettleAsync(withdrawalId, receipt, cancellationToken);
                return true;
            }

            // Mined, not yet deep enough: the trader sees the count grow.
            await _db.InTransactionAsync(async () =>
            {
                var withdrawal = await _db.Withdrawals.SingleAsync(w => w.Id == withdrawalId, cancellationToken);
                if (withdrawal.Status == RequestStatus.Broadcast && withdrawal.Confirmations != (int)receipt.Confirmations)
                {
                    withdrawal.ObserveConfirmations(receipt.BlockNumber, (int)receipt.Confirmations);
                }
            }, cancellationToken);
        }

        if (!anyMined && await ForgetReorganisedBlockAsync(withdrawalId, cancellationToken))
        {
            // Its block left the chain before the confirmation depth: send the same bytes again.
            await broadcast.RunAsync(withdrawalId, cancellationToken);
        }

        return false;
    }

    /// <summary>Looks until the receipt is deep enough, for a while; then leaves it to a later run of the whole way.</summary>
    public async Task WatchAsync(Guid withdrawalId, CancellationToken cancellationToken)
    {
        var replaceAfter = options.Value.ReplaceAfterSeconds;
        var until = clock.GetUtcNow() + (replaceAfter > 0 && replaceAfter < ReceiptWatch.TotalSeconds ? TimeSpan.FromSeconds(replaceAfter) : ReceiptWatch);
        while (clock.GetUtcNow() < until)
        {
            if (await LookOnceAsync(withdrawalId, cancellationToken))
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), clock, cancellationToken);
        }

        // Not mined yet: look again soon; the watcher and the reconciler also re-broadcast what stays unmined.
        jobs.DriveWithdrawalLater(withdrawalId, TimeSpan.FromSeconds(2));
    }

    private Task<List<string>> HashesAsync(Guid withdrawalId, CancellationToken cancellationToken) =>
        _db.WithdrawalTransactions.AsNoTracking()
            .Where(t => t.WithdrawalId == withdrawalId).OrderByDescending(t => t.Id).Select(t => t.Hash)
            .ToListAsync(cancellationToken);

    /// <summary>A block we saw the transaction in is gone (a reorganisation): back to waiting, audited. True if so.</summary>
    private Task<bool> ForgetReorganisedBlockAsync(Guid withdrawalId, CancellationToken cancellationToken) =>
        _db.InTransactionAsync(async () =>
        {
            var withdrawal = await _db.Withdrawals.SingleAsync(w => w.Id == withdrawalId, cancellationToken);
            if (withdrawal.Status != RequestStatus.Broadcast || withdrawal.BlockNumber is not { } block)
            {
                return false;
            }

            withdrawal.ForgetBlock();
            _db.Audit("withdrawal.reorged", withdrawal.AuditSubject, new { blockNumber = block, hash = withdrawal.TxHash }, clock.GetUtcNow());
            _db.WhenCommitted(() => ExchangeMetrics.ChainError("reorg"));
            logger.LogWarning("Withdrawal {WithdrawalId}: block {Block} left the chain before the confirmation depth; sending again", withdrawalId, block);
            return true;
        }, cancellationToken);

    private Task SettleAsync(Guid withdrawalId, ReceiptInfo receipt, CancellationToken cancellationToken) =>
        _db.InTransactionAsync(async () =>
        {
            var withdrawal = await _db.Withdrawals.SingleAsync(w => w.Id == withdrawalId, cancellationToken);
            if (withdrawal.Status is not (RequestStatus.Signed or RequestStatus.Broadcast))
            {
                return;
            }

            var now = clock.GetUtcNow();
            if (receipt.Succeeded)
            {
                withdrawal.MarkConfirmed(receipt.Hash, receipt.BlockNumber, (int)receipt.Confirmations, now);
                await ledger.SettleWithdrawalAsync(withdrawal, cancellationToken);
                _db.WhenCommitted(() => logger.LogInformation("Confirmed: {Hash} in block {Block}, {Confirmations} confirmations",
                    receipt.Hash, receipt.BlockNumber, receipt.Confirmations));
                return;
            }

            // No value left the hot wallet (only the gas): the held funds go back, and an operator must look.
            withdrawal.MarkReverted(receipt.Hash, receipt.BlockNumber, now);
            await ledger.ReleaseAsync(withdrawal, cancellationToken);
            _db.Audit("withdrawal.reverted_on_chain", withdrawal.AuditSubject,
                new { hash = receipt.Hash, blockNumber = receipt.BlockNumber, to = withdrawal.ToAddress, needsOperator = true }, now);
            _db.WhenCommitted(() => ExchangeMetrics.ChainError("reverted"));
            logger.LogError("Withdrawal {WithdrawalId}: transaction {Hash} was mined in block {Block} but reverted; funds released to the member; an operator should look at {To}",
                withdrawalId, receipt.Hash, receipt.BlockNumber, withdrawal.ToAddress);
        }, cancellationToken);
}

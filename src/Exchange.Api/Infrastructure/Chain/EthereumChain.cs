using System.Numerics;
using Microsoft.Extensions.Options;
using Exchange.Api.Infrastructure.Telemetry;
using Nethereum.Hex.HexConvertors.Extensions;
using Nethereum.JsonRpc.Client;
using Nethereum.RPC.Eth;
using Nethereum.RPC.Eth.DTOs;
using Nethereum.Web3;

namespace Exchange.Api.Infrastructure.Chain;

/// <summary>EIP-1559 fees in wei per gas.</summary>
public sealed record FeeQuote(BigInteger MaxFeePerGas, BigInteger MaxPriorityFeePerGas);

public enum BroadcastOutcome
{
    /// <summary>The node took the transaction now.</summary>
    Sent,

    /// <summary>The node already had these very bytes, in its pool or mined: as good as sent.</summary>
    AlreadyKnown,

    /// <summary>Another transaction of ours was mined at this nonce; these bytes can never be mined.</summary>
    NonceTooLow,

    /// <summary>The hot wallet holds less ETH than the value plus the gas at the fee cap: the node keeps nothing until it is topped up.</summary>
    InsufficientFunds,

    /// <summary>Any other refusal (underpriced, ...); <see cref="BroadcastResult.NodeMessage"/> says why.</summary>
    Rejected,
}

public sealed record BroadcastResult(BroadcastOutcome Outcome, string? NodeMessage);

/// <summary><paramref name="Confirmations"/> counts the receipt's own block: 1 right after it is mined.</summary>
public sealed record ReceiptInfo(string Hash, long BlockNumber, bool Succeeded, long Confirmations);

/// <summary>
/// The JSON-RPC node. Nethereum's requests take no CancellationToken, so each call is awaited with
/// <see cref="Task.WaitAsync(CancellationToken)"/>: cancellation stops the wait, not the HTTP request.
/// Network failures surface as exceptions for the caller (a Hangfire job) to retry, each counted first
/// (exchange.chain.errors, kind rpc, by method); the error answers a caller expects (a known transaction,
/// an unsupported fee method) are answers, not failures.
/// </summary>
public sealed partial class EthereumChain
{
    private static readonly BigInteger FallbackPriorityFee = 1_000_000_000; // 1 gwei

    // Compared without case, spaces or punctuation, as clients word them differently: geth "already known",
    // older geth "known transaction: <hash>", OpenEthereum "Transaction with the same hash was already
    // imported", anvil 1.7 "transaction already imported" (pending) and "nonce too low" (mined), Nethermind
    // "AlreadyKnown"/"OldNonce", geth "nonce too low", OpenEthereum "Transaction nonce is too low".
    private static readonly string[] AlreadyKnownMessages = ["alreadyknown", "knowntransaction", "alreadyimported"];
    private static readonly string[] NonceTooLowMessages = ["noncetoolow", "nonceistoolow", "oldnonce"];

    // geth "insufficient funds for gas * price + value", anvil "Insufficient funds for gas * price + value",
    // Nethermind "InsufficientFunds", OpenEthereum "Insufficient funds. The account you tried to send transaction from does not have enough funds".
    private static readonly string[] InsufficientFundsMessages = ["insufficientfunds"];

    private readonly Web3 _web3;
    private readonly long? _priorityFeeOverride;
    private readonly BigInteger _maxFeePerGas;

    public EthereumChain(IOptions<EthereumOptions> options)
    {
        _web3 = new Web3(options.Value.RpcUrl);
        _priorityFeeOverride = options.Value.MaxPriorityFeePerGasWei;
        _maxFeePerGas = options.Value.MaxFeePerGasWei;
    }

    /// <summary>Ethereum:MaxFeePerGasGwei in wei: no transaction is signed with a higher fee cap.</summary>
    public BigInteger MaxFeePerGas => _maxFeePerGas;

    /// <summary>
    /// Tip from configuration or the node; fee cap = 2 × the latest base fee + tip, which stays valid even if
    /// the base fee rises by the maximum 12.5% in each of the next ~6 blocks.
    /// </summary>
    public async Task<FeeQuote> QuoteFeesAsync(CancellationToken ct)
    {
        // One quote per block interval is enough: signing a burst of tapped withdrawals asks the node once, not each time.
        if (_quote is { } cached && Environment.TickCount64 - cached.At < QuoteLifetimeMilliseconds)
        {
            return cached.Quote;
        }

        var quote = await FetchQuoteAsync(ct);
        _quote = (quote, Environment.TickCount64);
        return quote;
    }

    private const long QuoteLifetimeMilliseconds = 1000;

    private (FeeQuote Quote, long At)? _quote;

    private async Task<FeeQuote> FetchQuoteAsync(CancellationToken ct)
    {
        BigInteger priority;
        if (_priorityFeeOverride is { } configured)
        {
            priority = configured;
        }
        else
        {
            priority = await CallAsync("eth_maxPriorityFeePerGas", async () =>
            {
                try
                {
                    return (await new EthMaxPriorityFeePerGas(_web3.Client).SendRequestAsync(null)).Value;
                }
                catch (RpcResponseException)
                {
                    // The node answered but does not implement eth_maxPriorityFeePerGas (older or minimal nodes).
                    return FallbackPriorityFee;
                }
            }, ct);
        }

        var latest = await CallAsync("eth_getBlockByNumber", () => _web3.Eth.Blocks.GetBlockWithTransactionsHashesByNumber
            .SendRequestAsync(BlockParameter.CreateLatest(), null), ct);
        var baseFee = latest?.BaseFeePerGas?.Value
            ?? throw new InvalidOperationException("The node's latest block has no baseFeePerGas: EIP-1559 is not active on this chain.");
        return Capped(new FeeQuote(2 * baseFee + priority, priority), _maxFeePerGas);
    }

    /// <summary>
    /// The quote within the configured ceiling: the fee cap at most <paramref name="maxFeePerGas"/>, the tip at most
    /// the fee cap (a node refuses a tip above it). A transaction signed at the ceiling may wait for the base fee to fall.
    /// </summary>
    public static FeeQuote Capped(FeeQuote quote, BigInteger maxFeePerGas)
    {
        ArgumentNullException.ThrowIfNull(quote);
        var cap = BigInteger.Min(quote.MaxFeePerGas, maxFeePerGas);
        return new FeeQuote(cap, BigInteger.Min(quote.MaxPriorityFeePerGas, cap));
    }

    /// <summary>
    /// Sends stored bytes. Safe to repeat: a node that already has them answers "already known" (or, once
    /// they are mined, "nonce too low"), and both come back as <see cref="BroadcastOutcome.AlreadyKnown"/>.
    /// </summary>
    public async Task<BroadcastResult> BroadcastAsync(string rawHex, string expectedHash, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(rawHex);
        ArgumentException.ThrowIfNullOrEmpty(expectedHash);
        var (returnedHash, refusal) = await CallAsync("eth_sendRawTransaction", async () =>
        {
            try
            {
                return ((string?)await _web3.Eth.Transactions.SendRawTransaction.SendRequestAsync(rawHex.EnsureHexPrefix(), null), (RpcResponseException?)null);
            }
            catch (RpcResponseException e)
            {
                return ((string?)null, e);
            }
        }, ct);
        if (refusal is { } e)
        {
            var message = e.RpcError?.Message ?? e.Message;
            var normalized = Normalize(message);
            if (AlreadyKnownMessages.Any(normalized.Contains))
            {
                return new BroadcastResult(BroadcastOutcome.AlreadyKnown, message);
            }

            if (NonceTooLowMessages.Any(normalized.Contains))
            {
                // The nonce is used: by these very bytes (mined earlier, a lost response) or by something else.
                var outcome = await IsKnownAsync(expectedHash, ct) ? BroadcastOutcome.AlreadyKnown : BroadcastOutcome.NonceTooLow;
                return new BroadcastResult(outcome, message);
            }

            if (InsufficientFundsMessages.Any(normalized.Contains))
            {
                ExchangeMetrics.ChainError("insufficient_funds");
                return new BroadcastResult(BroadcastOutcome.InsufficientFunds, message);
            }

            ExchangeMetrics.ChainError("broadcast_rejected");
            return new BroadcastResult(BroadcastOutcome.Rejected, message);
        }

        // Our stored hash is what we watch receipts by; a node disagreeing means the stored pair is corrupt.
        if (!string.Equals(returnedHash, expectedHash, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"The node reports hash {returnedHash} for a transaction stored as {expectedHash}.");
        }

        return new BroadcastResult(BroadcastOutcome.Sent, null);
    }

    /// <summary>Null while the transaction is not in a block (pending, dropped, or reorganized out).</summary>
    public async Task<ReceiptInfo?> GetReceiptAsync(string hash, CancellationToken ct)
    {
        var receipt = await CallAsync("eth_getTransactionReceipt", () => _web3.Eth.Transactions.GetTransactionReceipt.SendRequestAsync(hash, null), ct);
        if (receipt?.BlockNumber is null)
        {
            return null;
        }

        var receiptBlock = (long)receipt.BlockNumber.Value;
        var latest = (long)(await CallAsync("eth_blockNumber", () => _web3.Eth.Blocks.GetBlockNumber.SendRequestAsync(null), ct)).Value;
        // A load-balanced provider may answer the block number from a backend that lags the one that had the
        // receipt; the receipt's own block still counts as one confirmation.
        var confirmations = Math.Max(1, latest - receiptBlock + 1);
        return new ReceiptInfo(receipt.TransactionHash.ToLowerInvariant(), receiptBlock, receipt.Status?.Value == BigInteger.One, confirmations);
    }

    public async Task<long> GetBlockNumberAsync(CancellationToken ct) =>
        (long)(await CallAsync("eth_blockNumber", () => _web3.Eth.Blocks.GetBlockNumber.SendRequestAsync(null), ct)).Value;

    /// <summary>True when the node has the transaction, in its pool or mined.</summary>
    public async Task<bool> IsKnownAsync(string hash, CancellationToken ct) =>
        await CallAsync("eth_getTransactionByHash", () => _web3.Eth.Transactions.GetTransactionByHash.SendRequestAsync(hash, null), ct) is not null;

    /// <summary>For readiness: the node is reachable and on the chain we sign for.</summary>
    public async Task<long> GetChainIdAsync(CancellationToken ct) =>
        (long)(await CallAsync("eth_chainId", () => _web3.Eth.ChainId.SendRequestAsync(null), ct)).Value;

    /// <summary>
    /// Fees for a replacement at the same nonce: nodes refuse one unless both the fee cap and the tip rise
    /// by their replacement threshold, so each is the previous one raised by <paramref name="percent"/>
    /// (rounded up), or the current quote if that is higher.
    /// </summary>
    public static FeeQuote Bump(FeeQuote previous, FeeQuote current, int percent)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(current);
        ArgumentOutOfRangeException.ThrowIfNegative(percent);
        return new FeeQuote(
            BigInteger.Max(RaiseRoundingUp(previous.MaxFeePerGas, percent), current.MaxFeePerGas),
            BigInteger.Max(RaiseRoundingUp(previous.MaxPriorityFeePerGas, percent), current.MaxPriorityFeePerGas));
    }

    /// <summary>
    /// <see cref="Bump(FeeQuote, FeeQuote, int)"/> within the ceiling <paramref name="maxFeePerGas"/>: null when the
    /// smallest replacement a node accepts would exceed it (the transaction then stays as it is, at its current fees).
    /// </summary>
    public static FeeQuote? Bump(FeeQuote previous, FeeQuote current, int percent, BigInteger maxFeePerGas)
    {
        ArgumentNullException.ThrowIfNull(previous);
        var least = new FeeQuote(RaiseRoundingUp(previous.MaxFeePerGas, percent), RaiseRoundingUp(previous.MaxPriorityFeePerGas, percent));
        if (least.MaxFeePerGas > maxFeePerGas || least.MaxPriorityFeePerGas > least.MaxFeePerGas)
        {
            return null;
        }

        // Past the replacement minimum, the market's quote is only followed up to the ceiling.
        var bumped = Capped(Bump(previous, current, percent), maxFeePerGas);
        return bumped.MaxPriorityFeePerGas < least.MaxPriorityFeePerGas ? null : bumped;
    }

    private static BigInteger RaiseRoundingUp(BigInteger value, int percent) => (value * (100 + percent) + 99) / 100;

    /// <summary>One JSON-RPC call; its failure (unreachable, timed out, an error answer) is counted by method, then thrown. Our own cancellation is no failure.</summary>
    private static async Task<T> CallAsync<T>(string method, Func<Task<T>> call, CancellationToken ct)
    {
        try
        {
            return await call().WaitAsync(ct);
        }
        catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
        {
            ExchangeMetrics.RpcFailed(method);
            throw;
        }
    }

    private static string Normalize(string message) =>
        string.Concat(message.Where(char.IsAsciiLetter)).ToLowerInvariant();
}

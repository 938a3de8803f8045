using System.Numerics;
using Nethereum.Hex.HexTypes;
using Nethereum.RPC.Eth.DTOs;

namespace Exchange.Api.Infrastructure.Chain;

/// <summary>The hot wallet's nonces as the node counts them: its pending and mined transactions.</summary>
public sealed partial class EthereumChain
{
    /// <summary>
    /// For operators' diagnostics only. Our nonces come from PostgreSQL under a row lock, never from the node:
    /// a node (or a stale backend behind a load balancer) does not know of transactions we signed but have
    /// not broadcast yet.
    /// </summary>
    public async Task<BigInteger> GetPendingNonceAsync(string address, CancellationToken ct) =>
        (await CallAsync("eth_getTransactionCount", () => _web3.Eth.Transactions.GetTransactionCount.SendRequestAsync(address, BlockParameter.CreatePending(), null), ct)).Value;

    /// <summary>How many transactions from the address are mined (the nonce at the latest block).</summary>
    public async Task<BigInteger> GetMinedNonceAsync(string address, CancellationToken ct) =>
        (await CallAsync("eth_getTransactionCount", () => _web3.Eth.Transactions.GetTransactionCount.SendRequestAsync(address, BlockParameter.CreateLatest(), null), ct)).Value;

    /// <summary>How many transactions from the address were mined up to and including <paramref name="blockNumber"/>.</summary>
    public async Task<BigInteger> GetMinedNonceAsync(string address, long blockNumber, CancellationToken ct) =>
        (await CallAsync("eth_getTransactionCount", () => _web3.Eth.Transactions.GetTransactionCount.SendRequestAsync(
            address, new BlockParameter(new HexBigInteger(blockNumber)), null), ct)).Value;

    /// <summary>
    /// The hash of the mined transaction from <paramref name="address"/> at <paramref name="nonce"/>, found by halving
    /// the blocks from <paramref name="upTo"/> back at most <paramref name="lookBack"/> blocks (nodes that keep no old
    /// state cannot answer further back). Null when it is not found there: for the audit trail only, never for money.
    /// </summary>
    public async Task<string?> FindMinedTransactionAsync(string address, long nonce, long upTo, long lookBack, CancellationToken ct)
    {
        try
        {
            // The first block whose count passes the nonce is the one that holds the transaction.
            var (low, high) = (Math.Max(0, upTo - lookBack), upTo);
            if (await GetMinedNonceAsync(address, low, ct) > nonce || await GetMinedNonceAsync(address, high, ct) <= nonce)
            {
                return null;
            }

            while (high - low > 1)
            {
                var middle = low + ((high - low) / 2);
                (low, high) = await GetMinedNonceAsync(address, middle, ct) > nonce ? (low, middle) : (middle, high);
            }

            var block = await CallAsync("eth_getBlockByNumber", () => _web3.Eth.Blocks.GetBlockWithTransactionsByNumber
                .SendRequestAsync(new BlockParameter(new HexBigInteger(high)), null), ct);
            return block?.Transactions?.FirstOrDefault(t => string.Equals(t.From, address, StringComparison.OrdinalIgnoreCase) && t.Nonce?.Value == nonce)
                ?.TransactionHash?.ToLowerInvariant();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return null;
        }
    }
}

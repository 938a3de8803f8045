using System.Diagnostics;
using System.Numerics;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Testing;
using Microsoft.Extensions.Options;
using Nethereum.JsonRpc.Client;
using Nethereum.Signer;
using Nethereum.Util;
using Nethereum.Web3;

namespace Exchange.Api.Tests.Chain;

/// <summary>
/// Against a real anvil. Each test signs with a fresh, freshly funded hot wallet (its nonces start at 0 and
/// nothing else uses them) and pays fresh random addresses, so balances are exact even while other test
/// classes share the node. Nothing here depends on whether the node automines or mines on an interval.
/// </summary>
public sealed class EthereumChainTests : IAsyncLifetime, IDisposable
{
    private static readonly BigInteger OneEther = BigInteger.Pow(10, 18);

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private AnvilNode _node = null!;
    private EthereumChain _chain = null!;
    private HotWallet _wallet = null!;

    private CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync()
    {
        _node = await AnvilNode.Shared;
        _chain = new EthereumChain(Options.Create(new EthereumOptions { RpcUrl = _node.RpcUrl }));
        _wallet = new HotWallet(EthECKey.GenerateKey().GetPrivateKey());
        await _node.SetBalanceAsync(_wallet.Address, 10 * OneEther);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _timeout.Dispose();

    [Fact]
    public async Task The_signed_hash_is_the_hash_the_node_reports()
    {
        var to = NewAddress();
        var signed = await SignAsync(to, 12_345, nonce: 0);

        var reported = await new Web3(_node.RpcUrl).Eth.Transactions.SendRawTransaction.SendRequestAsync(signed.RawHex);

        Assert.Equal(signed.Hash, reported);
        var seen = await new Web3(_node.RpcUrl).Eth.Transactions.GetTransactionByHash.SendRequestAsync(signed.Hash);
        Assert.True(seen.From.IsTheSameAddress(_wallet.Address));
        Assert.True(seen.To.IsTheSameAddress(to));
        Assert.Equal(new BigInteger(12_345), seen.Value.Value);
        Assert.Equal(BigInteger.Zero, seen.Nonce.Value);
    }

    [Fact]
    public async Task Broadcasting_the_same_bytes_again_sends_no_second_transaction()
    {
        var to = NewAddress();
        var signed = await SignAsync(to, OneEther, nonce: 0);

        Assert.Equal(BroadcastOutcome.Sent, (await _chain.BroadcastAsync(signed.RawHex, signed.Hash, Ct)).Outcome);
        // anvil: "transaction already imported" while pending, or "nonce too low" if it was mined already.
        var again = await _chain.BroadcastAsync(signed.RawHex, signed.Hash, Ct);
        Assert.Equal(BroadcastOutcome.AlreadyKnown, again.Outcome);
        Assert.NotNull(again.NodeMessage);

        await WaitForReceiptAsync(signed.Hash);
        // Once mined the node answers "nonce too low"; those bytes are ours, so it is still AlreadyKnown.
        Assert.Equal(BroadcastOutcome.AlreadyKnown, (await _chain.BroadcastAsync(signed.RawHex, signed.Hash, Ct)).Outcome);

        Assert.Equal(OneEther, await _node.GetBalanceAsync(to));
        Assert.Equal(BigInteger.One, await _chain.GetPendingNonceAsync(_wallet.Address, Ct));
    }

    [Fact]
    public async Task The_destination_gains_exactly_the_value_once_mined()
    {
        var to = NewAddress();
        var value = OneEther + 987_654_321;
        var signed = await SignAsync(to, value, nonce: 0);
        Assert.Equal(BigInteger.Zero, await _node.GetBalanceAsync(to));

        Assert.Equal(BroadcastOutcome.Sent, (await _chain.BroadcastAsync(signed.RawHex, signed.Hash, Ct)).Outcome);
        var receipt = await WaitForReceiptAsync(signed.Hash);

        Assert.Equal(value, await _node.GetBalanceAsync(to));
        Assert.Equal(signed.Hash, receipt.Hash);
        Assert.True(receipt.Succeeded);
        Assert.True(receipt.Confirmations >= 1);
        await _node.MineAsync();
        var later = await _chain.GetReceiptAsync(signed.Hash, Ct);
        Assert.NotNull(later);
        Assert.Equal(receipt.BlockNumber, later.BlockNumber);
        Assert.True(later.Confirmations > receipt.Confirmations);
    }

    [Fact]
    public async Task A_different_transaction_at_a_mined_nonce_is_NonceTooLow()
    {
        var first = await SignAsync(NewAddress(), 1_000, nonce: 0);
        await _chain.BroadcastAsync(first.RawHex, first.Hash, Ct);
        await WaitForReceiptAsync(first.Hash);
        var other = await SignAsync(NewAddress(), 2_000, nonce: 0);

        var result = await _chain.BroadcastAsync(other.RawHex, other.Hash, Ct);

        Assert.Equal(BroadcastOutcome.NonceTooLow, result.Outcome);
        Assert.Contains("nonce too low", result.NodeMessage, StringComparison.OrdinalIgnoreCase);
        Assert.False(await _chain.IsKnownAsync(other.Hash, Ct));
    }

    [Fact]
    public async Task A_replacement_needs_bumped_fees_and_only_the_replacement_is_mined()
    {
        // Nonce 1 before nonce 0: the node must hold it in its pool, whatever its mining mode.
        var fees = await _chain.QuoteFeesAsync(Ct);
        var stuckTo = NewAddress();
        var stuck = Sign(stuckTo, 1_000, nonce: 1, fees);
        Assert.Equal(BroadcastOutcome.Sent, (await _chain.BroadcastAsync(stuck.RawHex, stuck.Hash, Ct)).Outcome);

        var replacementTo = NewAddress();
        var underpriced = Sign(replacementTo, 2_000, nonce: 1, fees);
        var refused = await _chain.BroadcastAsync(underpriced.RawHex, underpriced.Hash, Ct);
        Assert.Equal(BroadcastOutcome.Rejected, refused.Outcome);
        Assert.Contains("underpriced", refused.NodeMessage, StringComparison.OrdinalIgnoreCase);

        var replacement = Sign(replacementTo, 2_000, nonce: 1, EthereumChain.Bump(fees, await _chain.QuoteFeesAsync(Ct), 13));
        Assert.Equal(BroadcastOutcome.Sent, (await _chain.BroadcastAsync(replacement.RawHex, replacement.Hash, Ct)).Outcome);
        var gap = await SignAsync(NewAddress(), 3_000, nonce: 0);
        Assert.Equal(BroadcastOutcome.Sent, (await _chain.BroadcastAsync(gap.RawHex, gap.Hash, Ct)).Outcome);

        await WaitForReceiptAsync(replacement.Hash);
        Assert.Equal(new BigInteger(2_000), await _node.GetBalanceAsync(replacementTo));
        Assert.Equal(BigInteger.Zero, await _node.GetBalanceAsync(stuckTo));
        Assert.Null(await _chain.GetReceiptAsync(stuck.Hash, Ct));
    }

    [Fact]
    public async Task A_sender_without_the_funds_is_refused_as_InsufficientFunds_with_the_nodes_reason()
    {
        var unfunded = new HotWallet(EthECKey.GenerateKey().GetPrivateKey());
        var fees = await _chain.QuoteFeesAsync(Ct);
        var signed = unfunded.Sign(new TransferIntent(NewAddress(), 1, 0, fees.MaxFeePerGas, fees.MaxPriorityFeePerGas, 21_000, 31337));

        var result = await _chain.BroadcastAsync(signed.RawHex, signed.Hash, Ct);

        Assert.Equal(BroadcastOutcome.InsufficientFunds, result.Outcome);
        Assert.Contains("insufficient funds", result.NodeMessage, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Other_refusals_are_Rejected_with_the_nodes_reason()
    {
        // Signed for another chain: no retry, fee or wait can make the node take it.
        var fees = await _chain.QuoteFeesAsync(Ct);
        var signed = new HotWallet(EthECKey.GenerateKey().GetPrivateKey())
            .Sign(new TransferIntent(NewAddress(), 1, 0, fees.MaxFeePerGas, fees.MaxPriorityFeePerGas, 21_000, 1));

        var result = await _chain.BroadcastAsync(signed.RawHex, signed.Hash, Ct);

        Assert.Equal(BroadcastOutcome.Rejected, result.Outcome);
        Assert.False(string.IsNullOrWhiteSpace(result.NodeMessage));
        Assert.DoesNotContain("insufficient funds", result.NodeMessage, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_unknown_hash_has_no_transaction_and_no_receipt()
    {
        var hash = Sha3Keccack.Current.CalculateHash(Guid.NewGuid().ToString());

        Assert.False(await _chain.IsKnownAsync("0x" + hash, Ct));
        Assert.Null(await _chain.GetReceiptAsync("0x" + hash, Ct));
    }

    [Fact]
    public async Task A_broadcast_transaction_is_known_before_and_after_it_is_mined()
    {
        var signed = await SignAsync(NewAddress(), 1, nonce: 0);
        await _chain.BroadcastAsync(signed.RawHex, signed.Hash, Ct);

        Assert.True(await _chain.IsKnownAsync(signed.Hash, Ct));
        await WaitForReceiptAsync(signed.Hash);
        Assert.True(await _chain.IsKnownAsync(signed.Hash, Ct));
    }

    [Fact]
    public async Task The_chain_id_is_anvils()
    {
        Assert.Equal(31337, await _chain.GetChainIdAsync(Ct));
    }

    [Fact]
    public async Task Fees_are_twice_the_base_fee_plus_the_tip()
    {
        var fromNode = await _chain.QuoteFeesAsync(Ct);
        Assert.True(fromNode.MaxPriorityFeePerGas > 0);
        Assert.True(fromNode.MaxFeePerGas > fromNode.MaxPriorityFeePerGas);

        var configured = new EthereumChain(Options.Create(new EthereumOptions { RpcUrl = _node.RpcUrl, MaxPriorityFeePerGasWei = 2_000_000_001 }));
        var quote = await configured.QuoteFeesAsync(Ct);
        var baseFeeTimesTwo = quote.MaxFeePerGas - quote.MaxPriorityFeePerGas;
        Assert.Equal(new BigInteger(2_000_000_001), quote.MaxPriorityFeePerGas);
        Assert.True(baseFeeTimesTwo > 0);
        Assert.True(baseFeeTimesTwo.IsEven);
    }

    [Fact]
    public async Task An_unreachable_node_throws_so_the_caller_retries()
    {
        var nowhere = new EthereumChain(Options.Create(new EthereumOptions { RpcUrl = $"http://127.0.0.1:{FreePort.Next()}" }));
        var signed = await SignAsync(NewAddress(), 1, nonce: 0);

        await Assert.ThrowsAsync<RpcClientUnknownException>(() => nowhere.BroadcastAsync(signed.RawHex, signed.Hash, Ct));
    }

    [Fact]
    public async Task A_cancelled_call_stops_waiting()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _chain.GetChainIdAsync(cancelled.Token));
    }

    private static string NewAddress() => EthECKey.GenerateKey().GetPublicAddress();

    private async Task<SignedTransaction> SignAsync(string to, BigInteger value, BigInteger nonce) =>
        Sign(to, value, nonce, await _chain.QuoteFeesAsync(Ct));

    private SignedTransaction Sign(string to, BigInteger value, BigInteger nonce, FeeQuote fees) =>
        _wallet.Sign(new TransferIntent(to, value, nonce, fees.MaxFeePerGas, fees.MaxPriorityFeePerGas, 21_000, 31337));

    /// <summary>Polls with a deadline; each round forces a block rather than sleeping.</summary>
    private async Task<ReceiptInfo> WaitForReceiptAsync(string hash)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await _chain.GetReceiptAsync(hash, Ct) is { } receipt)
            {
                return receipt;
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"No receipt for {hash} after 30 s.");
            }

            await _node.MineAsync();
        }
    }
}

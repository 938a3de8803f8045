using System.Numerics;
using Exchange.Api.Infrastructure.Chain;
using Microsoft.Extensions.Options;
using Nethereum.Hex.HexConvertors.Extensions;
using Nethereum.Model;
using Nethereum.Signer;
using Nethereum.Util;

namespace Exchange.Api.Tests.Chain;

/// <summary>Signing without a node: what is stored must be exactly what gets broadcast, hash included.</summary>
public class HotWalletTests
{
    // anvil's public development account #0: a well-known test key, never for real funds.
    private const string AnvilKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    private const string AnvilAddress = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    private const string Destination = "0x71C7656EC7ab88b098defB751B7401B5f6d8976F";

    private static TransferIntent Intent(BigInteger? nonce = null, string to = Destination) =>
        new(to, ValueWei: 1_234_567_890_000_000_000, Nonce: nonce ?? 7, MaxFeePerGas: 3_000_000_000, MaxPriorityFeePerGas: 1_000_000_000, GasLimit: 21_000, ChainId: 31337);

    [Fact]
    public void The_address_is_the_keys_checksummed_address()
    {
        Assert.Equal(AnvilAddress, new HotWallet(AnvilKey).Address);
        Assert.Equal(AnvilAddress, new HotWallet(AnvilKey[2..]).Address);
        Assert.Equal(AnvilAddress, new HotWallet(Options.Create(new EthereumOptions())).Address);
    }

    [Fact]
    public void Signing_is_deterministic()
    {
        var wallet = new HotWallet(AnvilKey);

        Assert.Equal(wallet.Sign(Intent()), wallet.Sign(Intent()));
        Assert.NotEqual(wallet.Sign(Intent()).Hash, wallet.Sign(Intent(nonce: 8)).Hash);
    }

    [Fact]
    public void The_hash_is_the_keccak_of_the_raw_typed_envelope()
    {
        var signed = new HotWallet(AnvilKey).Sign(Intent());

        Assert.StartsWith("0x02", signed.RawHex, StringComparison.Ordinal); // EIP-2718 type 2 (EIP-1559)
        Assert.Equal(Sha3Keccack.Current.CalculateHash(signed.RawHex.HexToByteArray()).ToHex(true), signed.Hash);
        Assert.Equal(signed.Hash.ToLowerInvariant(), signed.Hash);
    }

    [Fact]
    public void The_raw_bytes_carry_every_field_of_the_intent_and_recover_to_the_hot_wallet()
    {
        var intent = Intent(to: Destination.ToLowerInvariant());
        var signed = new HotWallet(AnvilKey).Sign(intent);

        var decoded = Assert.IsType<Transaction1559>(TransactionFactory.CreateTransaction(signed.RawHex));
        Assert.Equal(intent.ChainId, decoded.ChainId);
        Assert.Equal(intent.Nonce, decoded.Nonce);
        Assert.Equal(intent.MaxFeePerGas, decoded.MaxFeePerGas);
        Assert.Equal(intent.MaxPriorityFeePerGas, decoded.MaxPriorityFeePerGas);
        Assert.Equal(intent.GasLimit, decoded.GasLimit);
        Assert.Equal(intent.ValueWei, decoded.Amount);
        Assert.True(decoded.ReceiverAddress.IsTheSameAddress(Destination));
        Assert.Equal(AnvilAddress, TransactionVerificationAndRecovery.GetSenderAddress(signed.RawHex).ConvertToEthereumChecksumAddress());
    }

    [Fact]
    public void The_key_never_shows_in_ToString()
    {
        var wallet = new HotWallet(AnvilKey);

        Assert.DoesNotContain(AnvilKey[2..], wallet.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains(AnvilAddress, wallet.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_malformed_key_is_refused_without_echoing_it()
    {
        var almostAKey = AnvilKey[..^1] + "z";

        var error = Assert.Throws<ArgumentException>(() => new HotWallet(almostAKey));
        Assert.DoesNotContain(almostAKey[2..12], error.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void An_intent_no_node_would_accept_is_refused_before_it_costs_a_nonce()
    {
        var wallet = new HotWallet(AnvilKey);

        Assert.Throws<ArgumentException>(() => wallet.Sign(Intent(to: "0x71C7656EC7ab88b098defB751B7401B5f6d8976f")));
        Assert.Throws<ArgumentException>(() => wallet.Sign(Intent() with { MaxPriorityFeePerGas = 3_000_000_001 }));
        Assert.Throws<ArgumentException>(() => wallet.Sign(Intent() with { ValueWei = -1 }));
        Assert.Throws<ArgumentException>(() => wallet.Sign(Intent() with { GasLimit = 0 }));
    }
}

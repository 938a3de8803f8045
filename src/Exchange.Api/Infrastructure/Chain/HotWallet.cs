using System.Diagnostics;
using System.Numerics;
using Microsoft.Extensions.Options;
using Nethereum.Hex.HexConvertors.Extensions;
using Nethereum.Model;
using Nethereum.Signer;
using Nethereum.Util;

namespace Exchange.Api.Infrastructure.Chain;

/// <summary>What one withdrawal sends: every field the signature covers, the nonce taken from PostgreSQL.</summary>
public sealed record TransferIntent(
    string To,
    BigInteger ValueWei,
    BigInteger Nonce,
    BigInteger MaxFeePerGas,
    BigInteger MaxPriorityFeePerGas,
    BigInteger GasLimit,
    long ChainId);

/// <summary>A signed EIP-1559 transaction: the exact bytes to store and (re)broadcast, and their hash.</summary>
public sealed record SignedTransaction(string RawHex, string Hash);

/// <summary>
/// Signs with the exchange's hot-wallet key. Pure and deterministic (RFC 6979 signatures): the same intent
/// always gives the same bytes and hash, and nothing here touches the network, so the hash can be stored
/// in the same database transaction as the nonce, before anything is broadcast.
/// </summary>
public sealed class HotWallet
{
    // The key stays in this private field: no property, no ToString, no exception message ever shows it.
    [DebuggerBrowsable(DebuggerBrowsableState.Never)]
    private readonly EthECKey _key;

    /// <summary>The service's wallet: the key from where Ethereum:HotWalletKeySource says (see <see cref="HotWalletKey"/>).</summary>
    public HotWallet(IOptions<EthereumOptions> options)
        : this(HotWalletKey.Load(options.Value))
    {
    }

    public HotWallet(string privateKeyHex)
        : this(HotWalletKey.TryParse(privateKeyHex, out var key)
            ? key
            : throw new ArgumentException("The hot-wallet private key is not 32 bytes of hex (64 digits, optionally 0x-prefixed) within secp256k1's range.", nameof(privateKeyHex)))
    {
    }

    private HotWallet(EthECKey key)
    {
        _key = key;
        Address = _key.GetPublicAddress().ConvertToEthereumChecksumAddress();
    }

    /// <summary>The hot wallet's address, EIP-55 checksummed.</summary>
    public string Address { get; }

    public SignedTransaction Sign(TransferIntent intent)
    {
        ArgumentNullException.ThrowIfNull(intent);
        if (!EthereumAddress.IsValid(intent.To, out var to, out var error))
        {
            throw new ArgumentException($"The destination {error}.", nameof(intent));
        }

        if (intent.ValueWei.Sign < 0 || intent.Nonce.Sign < 0 || intent.GasLimit.Sign <= 0 || intent.ChainId <= 0)
        {
            throw new ArgumentException("Value and nonce must not be negative; gas limit and chain id must be positive.", nameof(intent));
        }

        // EIP-1559: a node refuses a tip above the fee cap, so signing one would only waste a nonce.
        if (intent.MaxPriorityFeePerGas.Sign < 0 || intent.MaxPriorityFeePerGas > intent.MaxFeePerGas)
        {
            throw new ArgumentException("The priority fee must be between 0 and the max fee per gas.", nameof(intent));
        }

        var transaction = new Transaction1559(
            intent.ChainId,
            intent.Nonce,
            intent.MaxPriorityFeePerGas,
            intent.MaxFeePerGas,
            intent.GasLimit,
            to,
            intent.ValueWei,
            "",
            []);
        var raw = new Transaction1559Signer().SignTransaction(_key, transaction).EnsureHexPrefix();
        // keccak256 of the typed envelope (0x02 || rlp(...)): the hash every node will report for these bytes.
        var hash = TransactionUtils.CalculateTransactionHash(raw).EnsureHexPrefix().ToLowerInvariant();
        return new SignedTransaction(raw, hash);
    }

    public override string ToString() => $"HotWallet {Address}";
}

namespace Exchange.Api.Infrastructure.Chain;

/// <summary>Where <see cref="HotWallet"/> takes its private key from (Ethereum:HotWalletKeySource).</summary>
public enum HotWalletKeySource
{
    /// <summary>Ethereum:HotWalletPrivateKey, set from the environment (Ethereum__HotWalletPrivateKey) or a secret store.</summary>
    Environment,

    /// <summary>An encrypted keystore file (Ethereum:KeystorePath), decrypted at start-up with its password.</summary>
    Keystore,
}

/// <summary>The Ethereum node and hot wallet, bound from the configuration section "Ethereum".</summary>
public sealed class EthereumOptions
{
    public const string SectionName = "Ethereum";

    public string RpcUrl { get; set; } = "http://127.0.0.1:8545";

    /// <summary>Signed into every transaction (EIP-155), so a signed transfer cannot be replayed on another chain.</summary>
    public long ChainId { get; set; } = 31337;

    /// <summary>Blocks, counting the one holding the receipt, before a withdrawal is <c>confirmed</c>.</summary>
    public int Confirmations { get; set; } = 1;

    /// <summary>
    /// Where the hot wallet's key comes from: <see cref="HotWalletKeySource.Environment"/> (the default,
    /// <see cref="HotWalletPrivateKey"/>) or <see cref="HotWalletKeySource.Keystore"/> (an encrypted file,
    /// <see cref="KeystorePath"/>). Either way it is loaded once, at start-up, so a wrong password stops the
    /// process before it serves anything rather than at the first tapped withdrawal.
    /// </summary>
    public HotWalletKeySource HotWalletKeySource { get; set; } = HotWalletKeySource.Environment;

    // !!! DANGER: this default is anvil's development account #0, whose private key is PUBLIC (printed by
    // !!! every anvil and Hardhat node; see DevelopmentAccounts). It is here only so a local dev chain works
    // !!! out of the box. NEVER use it for real funds: anything sent to its address on a real network is swept
    // !!! by bots within seconds. Production sets Ethereum__HotWalletPrivateKey from a secret store, or uses a
    // !!! keystore; ProductionGuard refuses every development account.
    public string HotWalletPrivateKey { get; set; } = DevelopmentAccounts.PrivateKeys[0];

    /// <summary>
    /// With <see cref="HotWalletKeySource.Keystore"/>: the Web3 Secret Storage JSON file (version 3, scrypt or
    /// pbkdf2, as geth, Foundry's <c>cast wallet</c> and Nethereum write it) that holds the key encrypted.
    /// </summary>
    public string? KeystorePath { get; set; }

    /// <summary>
    /// The keystore's password in a file of its own (a mounted secret), so it is in neither the environment
    /// nor the process's command line. Trailing line breaks are ignored. Wins over <see cref="KeystorePassword"/>.
    /// </summary>
    public string? KeystorePasswordFile { get; set; }

    /// <summary>The keystore's password itself, where a secret store injects it as a setting.</summary>
    public string? KeystorePassword { get; set; }

    /// <summary>
    /// The hot wallet's address. Required where Exchange:RunJobs is false: such an instance never loads the key,
    /// yet checks the chain against this address. Where jobs run it is optional, and refused unless it is the
    /// key's own address.
    /// </summary>
    public string? HotWalletAddress { get; set; }

    /// <summary>A plain ether transfer to an account without code costs exactly 21,000 gas.</summary>
    public long GasLimit { get; set; } = 21000;

    /// <summary>Tip in wei; null asks the node (eth_maxPriorityFeePerGas).</summary>
    public long? MaxPriorityFeePerGasWei { get; set; }

    /// <summary>
    /// The highest fee cap (max fee per gas) the exchange ever signs, in gwei: neither a first signature nor a
    /// replacement exceeds it, so a fee spike or a lying node cannot drain the hot wallet in gas. A replacement
    /// that would need more is not made; the transaction waits at its current fees.
    /// </summary>
    public decimal MaxFeePerGasGwei { get; set; } = 500;

    /// <summary><see cref="MaxFeePerGasGwei"/> in wei (whole wei, rounded down).</summary>
    public System.Numerics.BigInteger MaxFeePerGasWei => new(decimal.Floor(MaxFeePerGasGwei * 1_000_000_000m));

    /// <summary>
    /// How much a replacement at the same nonce raises both the fee cap and the tip. geth refuses less than
    /// 10% ("replacement transaction underpriced") and some clients ask 12.5%; 13 is the smallest whole
    /// percentage that satisfies both.
    /// </summary>
    public int FeeBumpPercent { get; set; } = 13;

    /// <summary>
    /// How long a transaction may go unmined before it is replaced at the same nonce with higher fees
    /// (FeeBumpPercent); 0 turns replacement off, leaving only re-broadcasts of the same bytes.
    /// </summary>
    public int ReplaceAfterSeconds { get; set; } = 180;

    /// <summary>How long a broadcast transaction may go without a receipt before it is sent again.</summary>
    public int RebroadcastAfterSeconds { get; set; } = 30;

    /// <summary>Keeps the private key and the keystore's password out of logs and debugger views that print the options.</summary>
    public override string ToString() =>
        $"Ethereum {{ RpcUrl = {RpcUrl}, ChainId = {ChainId}, Confirmations = {Confirmations}, HotWalletKeySource = {HotWalletKeySource}, " +
        $"HotWalletPrivateKey = <redacted>, KeystorePath = {KeystorePath}, KeystorePasswordFile = {KeystorePasswordFile}, KeystorePassword = <redacted> }}";
}

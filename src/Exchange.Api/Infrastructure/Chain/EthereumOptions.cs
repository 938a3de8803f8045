namespace Exchange.Api.Infrastructure.Chain;

/// <summary>The Ethereum node and hot wallet, bound from the configuration section "Ethereum".</summary>
public sealed class EthereumOptions
{
    public const string SectionName = "Ethereum";

    public string RpcUrl { get; set; } = "http://127.0.0.1:8545";

    /// <summary>Signed into every transaction (EIP-155), so a signed transfer cannot be replayed on another chain.</summary>
    public long ChainId { get; set; } = 31337;

    /// <summary>Blocks, counting the one holding the receipt, before a withdrawal is <c>confirmed</c>.</summary>
    public int Confirmations { get; set; } = 1;

    // !!! DANGER: this default is anvil's development account #0, whose private key is PUBLIC (printed by
    // !!! every anvil and Hardhat node). It is here only so a local dev chain works out of the box. NEVER use
    // !!! it for real funds: anything sent to its address on a real network is swept by bots within seconds.
    // !!! Production sets Ethereum:HotWalletPrivateKey from a secret store or an encrypted keystore.
    public string HotWalletPrivateKey { get; set; } = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    /// <summary>A plain ether transfer to an account without code costs exactly 21,000 gas.</summary>
    public long GasLimit { get; set; } = 21000;

    /// <summary>Tip in wei; null asks the node (eth_maxPriorityFeePerGas).</summary>
    public long? MaxPriorityFeePerGasWei { get; set; }

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

    /// <summary>Keeps the private key out of logs and debugger views that print the options.</summary>
    public override string ToString() =>
        $"Ethereum {{ RpcUrl = {RpcUrl}, ChainId = {ChainId}, Confirmations = {Confirmations}, HotWalletPrivateKey = <redacted> }}";
}

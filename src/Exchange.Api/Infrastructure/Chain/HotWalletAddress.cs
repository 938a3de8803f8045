namespace Exchange.Api.Infrastructure.Chain;

/// <summary>
/// The hot wallet's address, which every instance needs (the invariant checks, the production guard) while only
/// job-running instances (Exchange:RunJobs) hold the key. An instance that runs no jobs never reads the key,
/// its keystore or its password: it takes the address from Ethereum:HotWalletAddress, which it requires. A
/// job-running instance takes it from the key, and refuses to start when Ethereum:HotWalletAddress is set to
/// another address (a deployment whose API and workers disagree about the wallet).
/// </summary>
public sealed class HotWalletAddress(string value)
{
    /// <summary>EIP-55 checksummed.</summary>
    public string Value { get; } = value;

    public override string ToString() => Value;

    /// <param name="runsJobs">Exchange:RunJobs: only then is the key loaded (by calling <paramref name="wallet"/>).</param>
    public static HotWalletAddress Resolve(bool runsJobs, EthereumOptions options, Func<HotWallet> wallet)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(wallet);
        var configured = Configured(options);
        if (!runsJobs)
        {
            return configured is null
                ? throw new StartupRefusedException(
                    "Ethereum:HotWalletAddress is not set: this instance runs no jobs (Exchange:RunJobs=false), so it never loads the hot-wallet key; set it to the hot wallet's address (the workers' key's).")
                : new HotWalletAddress(configured);
        }

        var address = wallet().Address;
        if (configured is not null && !string.Equals(configured, address, StringComparison.OrdinalIgnoreCase))
        {
            throw new StartupRefusedException(
                $"Ethereum:HotWalletAddress is {configured}, but the hot-wallet key is the key of {address}: correct the address, or remove it from this instance's settings.");
        }

        return new HotWalletAddress(address);
    }

    private static string? Configured(EthereumOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.HotWalletAddress))
        {
            return null;
        }

        return EthereumAddress.IsValid(options.HotWalletAddress.Trim(), out var checksummed, out var error)
            ? checksummed
            : throw new StartupRefusedException($"Ethereum:HotWalletAddress {error}: set it to the hot wallet's address (0x and 40 hex digits).");
    }
}

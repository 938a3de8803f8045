using Nethereum.Signer;
using Nethereum.Util;

namespace Exchange.Api.Infrastructure.Chain;

/// <summary>
/// PUBLIC DEVELOPMENT KEYS. anvil's and Hardhat's ten default accounts, derived from the published mnemonic
/// "test test test test test test test test test test test junk" (m/44'/60'/0'/0/0 to /9). Every anvil and
/// Hardhat node prints these keys at start-up, so they are secret from no one: bots sweep whatever reaches
/// their addresses on a real network within seconds. They are kept here, in one place, so local chains work
/// out of the box (<see cref="EthereumOptions.HotWalletPrivateKey"/>'s default is account #0) and so that
/// <see cref="ProductionGuard"/> can refuse every one of them as a production hot wallet.
/// </summary>
public static class DevelopmentAccounts
{
    /// <summary>The accounts' private keys, #0 first. Never for real funds.</summary>
    public static readonly IReadOnlyList<string> PrivateKeys =
    [
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
        "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
        "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
        "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
        "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
        "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
        "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
        "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
        "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
    ];

    /// <summary>Their addresses, EIP-55 checksummed, in the same order; derived, so they cannot drift from the keys.</summary>
    public static readonly IReadOnlyList<string> Addresses =
        PrivateKeys.Select(key => new EthECKey(key).GetPublicAddress().ConvertToEthereumChecksumAddress()).ToList();

    /// <summary>The account number (0 to 9) of a development address, or null for any other address.</summary>
    public static int? IndexOf(string address)
    {
        for (var i = 0; i < Addresses.Count; i++)
        {
            if (Addresses[i].IsTheSameAddress(address))
            {
                return i;
            }
        }

        return null;
    }
}

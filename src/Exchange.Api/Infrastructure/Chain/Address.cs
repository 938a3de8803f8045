using Nethereum.Util;

namespace Exchange.Api.Infrastructure.Chain;

/// <summary>Checks and formats the Ethereum addresses traders type in.</summary>
public static class EthereumAddress
{
    public const string MalformedError = "is not a 0x-prefixed 40-hex-digit address";
    public const string ChecksumError = "fails its EIP-55 checksum";

    /// <summary>
    /// True when <paramref name="input"/> is <c>0x</c> and 40 hex digits whose case is either uniform (an
    /// address written without checksum information) or a valid EIP-55 checksum. A mixed-case address with
    /// a wrong checksum is refused, since that is exactly the typo EIP-55 exists to catch.
    /// <paramref name="error"/> is a predicate for the caller to put after its own subject, e.g.
    /// "Destination " + error.
    /// </summary>
    public static bool IsValid(string input, out string checksummed, out string? error)
    {
        checksummed = "";
        // Nethereum 6.x checks a lowercase "0x", exactly 40 digits and ASCII hex only (the tests pin that down).
        if (input is null || !input.IsValidEthereumAddressHexFormat())
        {
            error = MalformedError;
            return false;
        }

        var digits = input.AsSpan(2);
        var uniformCase = !digits.ContainsAnyInRange('a', 'f') || !digits.ContainsAnyInRange('A', 'F');
        if (!uniformCase && !input.IsEthereumChecksumAddress())
        {
            error = ChecksumError;
            return false;
        }

        checksummed = input.ConvertToEthereumChecksumAddress();
        error = null;
        return true;
    }
}

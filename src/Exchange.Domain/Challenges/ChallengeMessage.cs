using System.Numerics;
using Exchange.Domain.Common;

namespace Exchange.Domain.Challenges;

/// <summary>
/// The text the member reads on their phone before tapping. It binds what they approve (PSD2
/// "dynamic linking"): the exact amount, the asset and the destination, within VivoKey's 60
/// characters. The amount is never shortened; the verb may be, to leave the destination room.
/// </summary>
public static class ChallengeMessage
{
    public const int MaxLength = 60;

    /// <summary>
    /// The fewest hex digits of a withdrawal's address the phone shows: the first and the last 12
    /// (96 bits). Eight digits (32 bits) are within reach of address-poisoning look-alikes.
    /// </summary>
    public const int MinAddressDigits = 24;

    private const int AddressDigits = 40;
    private const string Ellipsis = "\u2026";
    private static readonly string[] WithdrawalVerbs = ["Withdraw", "Send"];
    private static readonly string[] TransferVerbs = ["Transfer", "Send"];

    /// <summary>
    /// The one builder of a withdrawal's message, used by the request, its preview and any later check
    /// of a stored message: "Withdraw 1.25 ETH to 0x71C7656EC7ab88b098…751B7401B5f6d8976F". The whole address when
    /// it fits, else as many digits as fit (never fewer than the first 12 and last 12) around "…",
    /// keeping the EIP-55 casing of <paramref name="checksummedAddress"/>. Throws an
    /// <see cref="ArgumentException"/> naming "amount" when even the short verb leaves too little room.
    /// </summary>
    public static string ForWithdrawal(BigInteger amount, Asset asset, string checksummedAddress)
    {
        if (!IsAddressShape(checksummedAddress))
        {
            throw new ArgumentException("Not a 0x-prefixed 40-hex-digit address.", nameof(checksummedAddress));
        }

        return TryForWithdrawal(amount, asset, checksummedAddress, out var message)
            ? message
            : throw new ArgumentException($"The amount is too long to show on the phone with {MinAddressDigits} digits of the address.", nameof(amount));
    }

    /// <summary>
    /// <see cref="ForWithdrawal"/> without the throw: false when the amount leaves too little room, or when the
    /// address is not 0x and 40 hex digits. Never throws on what a row holds: the signer checks rows anyone with
    /// the application's database role may have written, and one bad row must not stop a whole batch.
    /// </summary>
    public static bool TryForWithdrawal(BigInteger amount, Asset asset, string? checksummedAddress, out string message)
    {
        ArgumentNullException.ThrowIfNull(asset);
        message = "";
        if (!IsAddressShape(checksummedAddress))
        {
            return false;
        }

        var digits = checksummedAddress[2..];
        foreach (var verb in WithdrawalVerbs)
        {
            var head = Head(verb, amount, asset);
            var room = MaxLength - head.Length;
            if (room >= checksummedAddress.Length)
            {
                message = head + checksummedAddress;
                return true;
            }

            var shown = room - "0x".Length - Ellipsis.Length;
            if (shown >= MinAddressDigits)
            {
                var first = (shown + 1) / 2;
                message = head + "0x" + digits[..first] + Ellipsis + digits[^(shown - first)..];
                return true;
            }
        }

        return false;
    }

    private static bool IsAddressShape([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? address) =>
        address is { Length: 2 + AddressDigits } && address.StartsWith("0x", StringComparison.Ordinal) && address.Skip(2).All(char.IsAsciiHexDigit);

    /// <summary>True when a withdrawal of this amount fits the phone (whatever the address: all are 42 characters).</summary>
    public static bool FitsWithdrawal(BigInteger amount, Asset asset) =>
        TryForWithdrawal(amount, asset, "0x" + new string('0', AddressDigits), out _);

    /// <summary>The longest amount text, in characters, a withdrawal of this asset can show.</summary>
    public static int LongestWithdrawalAmount(Asset asset) =>
        MaxLength - Head(WithdrawalVerbs[^1], "", asset).Length - "0x".Length - MinAddressDigits - Ellipsis.Length;

    /// <summary>
    /// A transfer's message names the receiver by the handle the exchange issued, whole:
    /// "Transfer 1 ETH to EX-7KQ2-9M4D". Never a name or email the receiver chose.
    /// </summary>
    public static string ForTransfer(BigInteger amount, Asset asset, string handle)
    {
        ArgumentNullException.ThrowIfNull(asset);
        ArgumentException.ThrowIfNullOrEmpty(handle);
        foreach (var verb in TransferVerbs)
        {
            var message = Head(verb, amount, asset) + handle;
            if (message.Length <= MaxLength)
            {
                return message;
            }
        }

        throw new ArgumentException("The amount is too long to show on the phone with the receiver's handle.", nameof(amount));
    }

    private static string Head(string verb, BigInteger amount, Asset asset) => Head(verb, Amounts.Format(amount, asset), asset);

    private static string Head(string verb, string amount, Asset asset) => $"{verb} {amount} {asset.Code} to ";
}

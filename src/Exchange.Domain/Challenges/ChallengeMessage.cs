namespace Exchange.Domain.Challenges;

/// <summary>
/// The text the member reads on their phone before tapping. It binds what they approve (PSD2
/// "dynamic linking"): the amount, the asset and the destination, within VivoKey's 60 characters.
/// </summary>
public static class ChallengeMessage
{
    public const int MaxLength = 60;

    /// <summary>"Withdraw 1.25 ETH to 0x71C7…976F"; a destination too long for the limit is cut with "…".</summary>
    public static string Build(string verb, string amount, string asset, string destination)
    {
        var head = $"{verb} {amount} {asset} to ";
        var room = MaxLength - head.Length;
        if (room < 6)
        {
            throw new ArgumentException("The amount is too long to fit the challenge message.", nameof(amount));
        }

        return head + (destination.Length <= room ? destination : destination[..(room - 1)] + "…");
    }
}

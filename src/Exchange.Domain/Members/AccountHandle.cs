using System.Security.Cryptography;

namespace Exchange.Domain.Members;

/// <summary>
/// The account handle the exchange issues to every member, e.g. <c>EX-7KQ2-9M4D</c>: what a sender
/// types and what the sender's phone shows for a transfer. Unlike the name and email VivoKey passes
/// on (unverified, chosen by the member, not unique), the exchange draws it, so it can be trusted to
/// name exactly one member. Eight Crockford base32 characters (40 bits from a CSPRNG); the alphabet
/// leaves out I, L, O and U so it reads aloud and copies by hand without look-alikes.
/// </summary>
public static class AccountHandle
{
    public const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    public const string Prefix = "EX-";

    /// <summary>"EX-" and two groups of four, joined by a dash.</summary>
    public const int Length = 12;

    /// <summary>A fresh random handle. Uniqueness is the database's unique index: on a collision, draw again.</summary>
    public static string New()
    {
        Span<char> handle = stackalloc char[Length];
        Prefix.AsSpan().CopyTo(handle);
        handle[7] = '-';
        foreach (var i in (ReadOnlySpan<int>)[3, 4, 5, 6, 8, 9, 10, 11])
        {
            handle[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }

        return new string(handle);
    }

    /// <summary>
    /// Reads a handle as a person types it: surrounding spaces ignored, any letter case, the dashes
    /// required. Nothing is guessed: no I→1 or O→0 and no missing dash is read as a handle, so a
    /// near miss is never silently turned into someone else's account.
    /// </summary>
    public static bool TryParse(string? input, out string handle)
    {
        handle = "";
        var text = input?.Trim().ToUpperInvariant();
        if (text is not { Length: Length } || !text.StartsWith(Prefix, StringComparison.Ordinal) || text[7] != '-')
        {
            return false;
        }

        for (var i = Prefix.Length; i < Length; i++)
        {
            if (i != 7 && !Alphabet.Contains(text[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        handle = text;
        return true;
    }
}

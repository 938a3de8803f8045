using System.Security.Cryptography;
using System.Text;

namespace Exchange.Domain.Challenges;

/// <summary>
/// The id we give VivoKey for a challenge, which its unsigned callback echoes back. 32 random bytes
/// make it unguessable; a MAC of them rides along so a forged callback is refused before any
/// database read; and only its SHA-256 is stored, so reading our database is not enough to forge one.
/// </summary>
public static class ChallengeIds
{
    private const int RandomBytes = 32;
    private const int MacBytes = 16;

    public static string Create(ReadOnlySpan<byte> key)
    {
        Span<byte> id = stackalloc byte[RandomBytes + MacBytes];
        RandomNumberGenerator.Fill(id[..RandomBytes]);
        Mac(key, id[..RandomBytes]).AsSpan(0, MacBytes).CopyTo(id[RandomBytes..]);
        return Base64Url(id);
    }

    /// <summary>True when the id is well formed and its MAC is ours. Constant time in the MAC comparison.</summary>
    public static bool IsAuthentic(string? id, ReadOnlySpan<byte> key)
    {
        if (id is null || id.Length != 64)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[RandomBytes + MacBytes];
        if (!TryFromBase64Url(id, bytes))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Mac(key, bytes[..RandomBytes]).AsSpan(0, MacBytes), bytes[RandomBytes..]);
    }

    /// <summary>What the database keeps and looks ids up by.</summary>
    public static byte[] Hash(string id) => SHA256.HashData(Encoding.UTF8.GetBytes(id));

    private static byte[] Mac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data) => HMACSHA256.HashData(key, data);

    private static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool TryFromBase64Url(string text, Span<byte> destination)
    {
        // Only the base64url alphabet: standard base64's '+' and '/' (or whitespace) would spell the same
        // bytes, so a second string would pass as authentic yet hash differently.
        if (!text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            return false;
        }

        var base64 = text.Replace('-', '+').Replace('_', '/');
        base64 += new string('=', (4 - base64.Length % 4) % 4);
        return Convert.TryFromBase64String(base64, destination, out var written) && written == destination.Length;
    }
}

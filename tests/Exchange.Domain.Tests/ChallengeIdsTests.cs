using System.Security.Cryptography;
using System.Text;
using Exchange.Domain.Challenges;

namespace Exchange.Domain.Tests;

public class ChallengeIdsTests
{
    private const string Base64UrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] OtherKey = Enumerable.Range(101, 32).Select(i => (byte)i).ToArray();

    /// <summary>Builds an id the documented way (32 random bytes, then the first 16 bytes of their HMAC-SHA256), from chosen bytes.</summary>
    private static string IdFrom(byte[] random, byte[] key)
    {
        var mac = HMACSHA256.HashData(key, random);
        return Convert.ToBase64String([.. random, .. mac[..16]]).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>Random bytes whose base64url text is full of '-' and '_', the characters standard base64 spells '+' and '/'.</summary>
    private static readonly byte[] DashesAndUnderscores = [.. Enumerable.Repeat(new byte[] { 0xFB, 0xEF, 0xBE, 0xFF, 0xFF, 0xFF }, 5).SelectMany(b => b), 0xFB, 0xEF];

    [Fact]
    public void An_id_is_64_base64url_characters()
    {
        for (var i = 0; i < 100; i++)
        {
            var id = ChallengeIds.Create(Key);

            Assert.Equal(64, id.Length);
            Assert.All(id, c => Assert.Contains(c, Base64UrlAlphabet));
        }
    }

    [Fact]
    public void Each_id_is_different()
    {
        var ids = Enumerable.Range(0, 2000).Select(_ => ChallengeIds.Create(Key)).ToHashSet(StringComparer.Ordinal);

        Assert.Equal(2000, ids.Count);
    }

    [Fact]
    public void An_id_is_32_random_bytes_followed_by_a_16_byte_mac_of_them()
    {
        var id = ChallengeIds.Create(Key);
        var bytes = Convert.FromBase64String(id.Replace('-', '+').Replace('_', '/'));

        Assert.Equal(48, bytes.Length);
        Assert.Equal(HMACSHA256.HashData(Key, bytes[..32])[..16], bytes[32..]);
    }

    [Fact]
    public void Our_own_ids_are_authentic()
    {
        for (var i = 0; i < 200; i++)
        {
            Assert.True(ChallengeIds.IsAuthentic(ChallengeIds.Create(Key), Key));
        }

        Assert.True(ChallengeIds.IsAuthentic(IdFrom(DashesAndUnderscores, Key), Key));
    }

    [Fact]
    public void An_id_made_with_another_key_is_not_authentic()
    {
        for (var i = 0; i < 50; i++)
        {
            Assert.False(ChallengeIds.IsAuthentic(ChallengeIds.Create(OtherKey), Key));
            Assert.False(ChallengeIds.IsAuthentic(ChallengeIds.Create(Key), OtherKey));
        }
    }

    [Fact]
    public void Changing_any_single_character_to_any_other_makes_an_id_not_authentic()
    {
        foreach (var id in new[] { ChallengeIds.Create(Key), ChallengeIds.Create(Key), IdFrom(DashesAndUnderscores, Key) })
        {
            var chars = id.ToCharArray();
            for (var position = 0; position < id.Length; position++)
            {
                // Every other base64url character, standard base64's '+' '/' '=', and some that are no base64 at all.
                foreach (var replacement in Base64UrlAlphabet + "+/= .!\u00e9\u0000")
                {
                    if (replacement == id[position])
                    {
                        continue;
                    }

                    chars[position] = replacement;
                    var tampered = new string(chars);
                    Assert.False(ChallengeIds.IsAuthentic(tampered, Key), $"position {position}: '{id[position]}' → '{replacement}' in {tampered}");
                }

                chars[position] = id[position];
            }
        }
    }

    [Fact]
    public void The_standard_base64_spelling_of_an_id_is_not_authentic()
    {
        var id = IdFrom(DashesAndUnderscores, Key);
        Assert.Contains('-', id);
        Assert.Contains('_', id);

        Assert.False(ChallengeIds.IsAuthentic(id.Replace('-', '+').Replace('_', '/'), Key));
    }

    [Fact]
    public void Missing_short_long_or_malformed_ids_are_not_authentic()
    {
        var id = ChallengeIds.Create(Key);

        Assert.False(ChallengeIds.IsAuthentic(null, Key));
        Assert.False(ChallengeIds.IsAuthentic("", Key));
        Assert.False(ChallengeIds.IsAuthentic(id[..63], Key));
        Assert.False(ChallengeIds.IsAuthentic(id + "A", Key));
        Assert.False(ChallengeIds.IsAuthentic(id + "=", Key));
        Assert.False(ChallengeIds.IsAuthentic(id + "==", Key));
        Assert.False(ChallengeIds.IsAuthentic(id[..62] + "==", Key));
        Assert.False(ChallengeIds.IsAuthentic(" " + id[1..], Key));
        Assert.False(ChallengeIds.IsAuthentic(id[..63] + "\n", Key));
        Assert.False(ChallengeIds.IsAuthentic(new string('!', 64), Key));
        Assert.False(ChallengeIds.IsAuthentic(new string('A', 64), Key));
        Assert.False(ChallengeIds.IsAuthentic(new string(' ', 64), Key));
        Assert.False(ChallengeIds.IsAuthentic(id.ToUpperInvariant() == id ? id.ToLowerInvariant() : id.ToUpperInvariant(), Key));
    }

    [Fact]
    public void The_hash_is_the_32_byte_sha256_of_the_id()
    {
        var id = ChallengeIds.Create(Key);

        var hash = ChallengeIds.Hash(id);

        Assert.Equal(32, hash.Length);
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(id)), hash);
        Assert.Equal(hash, ChallengeIds.Hash(id));
        Assert.Equal(hash, ChallengeIds.Hash(new string(id.ToCharArray())));
    }

    [Fact]
    public void Different_ids_hash_differently()
    {
        var hashes = Enumerable.Range(0, 500)
            .Select(_ => Convert.ToHexString(ChallengeIds.Hash(ChallengeIds.Create(Key))))
            .ToHashSet(StringComparer.Ordinal);

        Assert.Equal(500, hashes.Count);

        var id = ChallengeIds.Create(Key);
        var oneCharacterOff = id[..^1] + (id[^1] == 'A' ? 'B' : 'A');
        Assert.NotEqual(ChallengeIds.Hash(id), ChallengeIds.Hash(oneCharacterOff));
    }

    [Fact]
    public void The_hash_does_not_contain_the_id()
    {
        var id = ChallengeIds.Create(Key);

        Assert.DoesNotContain(id, Convert.ToBase64String(ChallengeIds.Hash(id)), StringComparison.Ordinal);
    }
}

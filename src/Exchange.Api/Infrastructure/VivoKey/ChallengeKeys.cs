using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Exchange.Domain.Challenges;
using Exchange.Domain.Withdrawals;
using Microsoft.Extensions.Options;
using Exchange.Domain.Common;

namespace Exchange.Api.Infrastructure.VivoKey;

/// <summary>
/// The keys behind challenge ids, derived from VivoKey:ChallengeKey: one for the MAC inside each id
/// (a forged callback is refused before any database read), one to seal an id until it has been
/// sent, one for the proof a success callback leaves on a withdrawal's challenge. None is in the
/// database, so reading or writing the database is not enough to forge a callback or an approval.
/// </summary>
public sealed class ChallengeKeys
{
    private readonly byte[] _macKey;
    private readonly byte[] _sealKey;
    private readonly byte[] _approvalKey;

    public ChallengeKeys(IOptions<VivoKeyOptions> options)
    {
        var master = Convert.FromBase64String(options.Value.ChallengeKey);
        if (master.Length < 32)
        {
            throw new InvalidOperationException("VivoKey:ChallengeKey must be at least 32 bytes, base64.");
        }

        _macKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, master, 32, info: Encoding.ASCII.GetBytes("challenge-id-mac"));
        _sealKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, master, 32, info: Encoding.ASCII.GetBytes("challenge-id-seal"));
        _approvalKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, master, 32, info: Encoding.ASCII.GetBytes("challenge-approval-proof"));
    }

    /// <summary>
    /// The proof a success callback leaves: a MAC over the challenge (its id, request, member and the message the
    /// member read) and the withdrawal's member, asset, amount and destination, in full.
    /// </summary>
    public byte[] ProveApproval(Challenge challenge, Withdrawal withdrawal) =>
        HMACSHA256.HashData(_approvalKey, Encoding.UTF8.GetBytes(ApprovalText(challenge, withdrawal)));

    /// <summary>Whether the challenge carries the proof of a success callback for exactly this withdrawal's row.</summary>
    public bool IsApprovalProven(Challenge challenge, Withdrawal withdrawal) =>
        challenge.ApprovalProof is { } proof && CryptographicOperations.FixedTimeEquals(proof, ProveApproval(challenge, withdrawal));

    private static string ApprovalText(Challenge challenge, Withdrawal withdrawal) => string.Join('\n',
        "withdrawal-approval/1", challenge.Id, challenge.RequestKind.ToWire(), challenge.RequestId, challenge.MemberId, challenge.Message,
        withdrawal.Id, withdrawal.MemberId, withdrawal.Asset, withdrawal.Amount.ToString(CultureInfo.InvariantCulture), withdrawal.ToAddress);

    public string NewId() => ChallengeIds.Create(_macKey);

    public bool IsAuthentic(string? id) => ChallengeIds.IsAuthentic(id, _macKey);

    public byte[] Seal(string id)
    {
        var plain = Encoding.UTF8.GetBytes(id);
        var sealedId = new byte[12 + 16 + plain.Length];
        var nonce = sealedId.AsSpan(0, 12);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_sealKey, 16);
        aes.Encrypt(nonce, plain, sealedId.AsSpan(28), sealedId.AsSpan(12, 16));
        return sealedId;
    }

    public string Open(byte[] sealedId)
    {
        var plain = new byte[sealedId.Length - 28];
        using var aes = new AesGcm(_sealKey, 16);
        aes.Decrypt(sealedId.AsSpan(0, 12), sealedId.AsSpan(28), sealedId.AsSpan(12, 16), plain);
        return Encoding.UTF8.GetString(plain);
    }
}

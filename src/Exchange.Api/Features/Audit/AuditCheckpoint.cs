using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Exchange.Api.Features.Audit;

/// <summary>
/// The keys of the audit checkpoints (section <c>Audit</c>): PEM files of an ECDSA P-256 key pair. Only the
/// command that writes checkpoints needs the private key; whoever verifies needs only the public one.
/// </summary>
public sealed class AuditCheckpointOptions
{
    public const string Section = "Audit";

    /// <summary>Path of the PEM private key (PKCS#8 or SEC 1) that signs checkpoints.</summary>
    public string? CheckpointSigningKey { get; set; }

    /// <summary>Path of the PEM public key (SubjectPublicKeyInfo) that verifies them.</summary>
    public string? CheckpointVerifyKey { get; set; }
}

/// <summary>
/// The chain's head as it was at one moment, signed, to be kept outside the database (a ticket, a mail, another
/// system). The database's owner can rewrite history and re-hash the chain so that it holds in itself; the
/// checkpoint's hash is what such a rewrite can no longer match. The signature covers every field but itself.
/// </summary>
public sealed record AuditCheckpoint(string Format, long ChainSeq, string Hash, string SealedAt, string CheckpointedAt, string KeyId, string Signature)
{
    public const string CurrentFormat = "exchange-audit-checkpoint/1";
    private const string P256 = "1.2.840.10045.3.1.7";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Signs the head with the private key at <paramref name="signingKeyPath"/>.</summary>
    public static AuditCheckpoint Sign(long chainSeq, byte[] hash, DateTimeOffset sealedAt, DateTimeOffset now, string signingKeyPath)
    {
        using var key = Load(signingKeyPath, "Audit:CheckpointSigningKey");
        var unsigned = new AuditCheckpoint(CurrentFormat, chainSeq, Convert.ToHexStringLower(hash), Time(sealedAt), Time(now), KeyIdOf(key), "");
        return unsigned with { Signature = Convert.ToBase64String(key.SignData(unsigned.SignedBytes(), HashAlgorithmName.SHA256)) };
    }

    /// <summary>Null when the signature holds under the public key at <paramref name="verifyKeyPath"/>; otherwise why not.</summary>
    public string? SignatureProblem(string verifyKeyPath)
    {
        using var key = Load(verifyKeyPath, "Audit:CheckpointVerifyKey");
        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(Signature);
        }
        catch (FormatException)
        {
            return "The checkpoint's signature is not base64.";
        }

        if (Format != CurrentFormat || !key.VerifyData(SignedBytes(), signature, HashAlgorithmName.SHA256))
        {
            return KeyId == KeyIdOf(key)
                ? "The checkpoint's signature does not verify: the checkpoint was altered after it was signed."
                : $"The checkpoint's signature does not verify: it names key {KeyId}, and Audit:CheckpointVerifyKey is key {KeyIdOf(key)}.";
        }

        return null;
    }

    /// <summary>The checkpoint's hash as bytes; null when it is not 64 hex digits.</summary>
    public byte[]? HashBytes()
    {
        try
        {
            var bytes = Convert.FromHexString(Hash);
            return bytes.Length == 32 ? bytes : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a checkpoint document; throws <see cref="FormatException"/> when it is not one.</summary>
    public static AuditCheckpoint Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<AuditCheckpoint>(json, Json) is { Format: not null, Hash: not null, Signature: not null } checkpoint
                ? checkpoint
                : throw new FormatException("The file is not an audit checkpoint.");
        }
        catch (JsonException ex)
        {
            throw new FormatException("The file is not an audit checkpoint: " + ex.Message, ex);
        }
    }

    private byte[] SignedBytes() => Encoding.UTF8.GetBytes(string.Join('\n',
        Format, ChainSeq.ToString(CultureInfo.InvariantCulture), Hash, SealedAt, CheckpointedAt, KeyId));

    private static string Time(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>The first 16 hex digits of the SHA-256 of the public key: says which key signed, not a secret.</summary>
    private static string KeyIdOf(ECDsa key) => Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))[..16];

    private static ECDsa Load(string path, string setting)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(path));
            if (key.ExportParameters(false).Curve.Oid.Value != P256)
            {
                throw new CheckpointKeyException($"{setting} ({path}) is not an ECDSA P-256 key.");
            }

            return key;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new CheckpointKeyException($"{setting} ({path}) cannot be read as a PEM ECDSA P-256 key: {ex.Message}");
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }
}

/// <summary>A checkpoint key that is missing, unreadable or of the wrong kind: the operator's to fix.</summary>
public sealed class CheckpointKeyException(string message) : Exception(message);

using System.Globalization;
using System.Numerics;
using Nethereum.Hex.HexConvertors.Extensions;
using Nethereum.KeyStore;
using Nethereum.KeyStore.Crypto;
using Nethereum.Signer;

namespace Exchange.Api.Infrastructure.Chain;

/// <summary>
/// Loads the hot wallet's private key from where Ethereum:HotWalletKeySource says: the setting
/// Ethereum:HotWalletPrivateKey, or an encrypted keystore file decrypted with its password. Every failure
/// is a <see cref="StartupRefusedException"/> naming the setting to fix; none ever carries the key, the
/// password or the file's content (not even a parser's message, which quotes what it could not read).
/// </summary>
public static class HotWalletKey
{
    /// <summary>secp256k1's group order: a private key is a number from 1 to n - 1.</summary>
    private static readonly BigInteger CurveOrder = BigInteger.Parse("0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    public static EthECKey Load(EthereumOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.HotWalletKeySource switch
        {
            HotWalletKeySource.Environment => FromSetting(options.HotWalletPrivateKey),
            HotWalletKeySource.Keystore => FromKeystore(options),
            _ => throw new StartupRefusedException(
                $"Ethereum:HotWalletKeySource is '{options.HotWalletKeySource}': set it to Environment (Ethereum:HotWalletPrivateKey) or Keystore (Ethereum:KeystorePath)."),
        };
    }

    /// <summary>32 bytes of hex (64 digits, optionally 0x-prefixed) that are a valid secp256k1 private key.</summary>
    public static bool TryParse(string? hex, out EthECKey key)
    {
        key = null!;
        if (hex is null || !IsKeyHex(hex))
        {
            return false;
        }

        var bytes = hex.HexToByteArray();
        var scalar = new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
        if (scalar.IsZero || scalar >= CurveOrder)
        {
            return false;
        }

        key = new EthECKey(bytes, true);
        return true;
    }

    private static EthECKey FromSetting(string? hex)
    {
        if (string.IsNullOrWhiteSpace(hex))
        {
            throw new StartupRefusedException(
                "Ethereum:HotWalletPrivateKey is not set: set Ethereum__HotWalletPrivateKey from your secret store, or keep the key in an encrypted keystore (Ethereum:HotWalletKeySource=Keystore).");
        }

        return TryParse(hex.Trim(), out var key)
            ? key
            : throw new StartupRefusedException(
                "Ethereum:HotWalletPrivateKey is not a private key: it must be 32 bytes of hex (64 digits, optionally 0x-prefixed) within secp256k1's range.");
    }

    private static EthECKey FromKeystore(EthereumOptions options)
    {
        var path = options.KeystorePath;
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new StartupRefusedException(
                "Ethereum:KeystorePath is not set: Ethereum:HotWalletKeySource is Keystore, so set it to the hot wallet's encrypted keystore file (Web3 Secret Storage JSON).");
        }

        var (password, passwordSetting) = KeystorePassword(options);
        var json = Read(path, "Ethereum:KeystorePath", "the keystore file");
        byte[] privateKey;
        try
        {
            privateKey = new KeyStoreService().DecryptKeyStoreFromJson(password, json);
        }
        catch (DecryptionException)
        {
            throw new StartupRefusedException(
                $"{passwordSetting} does not decrypt the keystore at Ethereum:KeystorePath ({path}): the password is wrong, or the file is another keystore.");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Not chained: a JSON parser's message quotes the text it choked on, and a misplaced plain key would be that text.
            throw new StartupRefusedException(
                $"Ethereum:KeystorePath names {path}, which is not a Web3 Secret Storage keystore (JSON, version 3, kdf scrypt or pbkdf2, cipher aes-128-ctr).");
        }

        if (privateKey.Length != 32 || !TryParse(privateKey.ToHex(), out var key))
        {
            throw new StartupRefusedException($"The keystore at Ethereum:KeystorePath ({path}) decrypts, but not to a secp256k1 private key.");
        }

        return key;
    }

    private static (string Password, string Setting) KeystorePassword(EthereumOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.KeystorePasswordFile))
        {
            var setting = $"Ethereum:KeystorePasswordFile ({options.KeystorePasswordFile})";
            // A file written by echo ends in a line break that is not part of the password.
            var password = Read(options.KeystorePasswordFile, "Ethereum:KeystorePasswordFile", "the keystore's password file").TrimEnd('\r', '\n');
            return password.Length > 0
                ? (password, setting)
                : throw new StartupRefusedException($"Ethereum:KeystorePasswordFile names {options.KeystorePasswordFile}, which is empty: put the keystore's password in it.");
        }

        if (!string.IsNullOrEmpty(options.KeystorePassword))
        {
            return (options.KeystorePassword, "Ethereum:KeystorePassword");
        }

        throw new StartupRefusedException(
            "Ethereum:KeystorePasswordFile is not set (nor Ethereum:KeystorePassword): Ethereum:HotWalletKeySource is Keystore, so give the keystore's password in a file (a mounted secret) or as a setting.");
    }

    private static string Read(string path, string setting, string what)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new StartupRefusedException($"{setting} names {path}, which does not exist: put {what} there, or correct the path.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new StartupRefusedException($"{setting} names {path}, which cannot be read ({e.Message}): give this process read access to {what}.");
        }
    }

    private static bool IsKeyHex(string hex)
    {
        var digits = hex.StartsWith("0x", StringComparison.Ordinal) ? hex.AsSpan(2) : hex.AsSpan();
        if (digits.Length != 64)
        {
            return false;
        }

        foreach (var digit in digits)
        {
            if (!char.IsAsciiHexDigit(digit))
            {
                return false;
            }
        }

        return true;
    }
}

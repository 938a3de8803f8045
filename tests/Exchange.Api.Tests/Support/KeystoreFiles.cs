using Nethereum.KeyStore;
using Nethereum.KeyStore.Model;
using Nethereum.Signer;

namespace Exchange.Api.Tests.Support;

/// <summary>
/// Web3 Secret Storage keystores made on the spot, in a directory of their own removed at Dispose. The
/// key derivation is made cheap (scrypt N = 1024, pbkdf2 1,000 rounds) so a test decrypts in milliseconds;
/// a real keystore's costs are thousands of times higher, and the loader reads whatever the file says.
/// </summary>
public sealed class KeystoreFiles : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("exchange-keystores-").FullName;

    public static readonly ScryptParams CheapScrypt = new() { Dklen = 32, N = 1024, R = 8, P = 1 };
    public static readonly Pbkdf2Params CheapPbkdf2 = new() { Dklen = 32, Count = 1000, Prf = "hmac-sha256" };

    /// <summary>Writes the key encrypted with the password (scrypt unless told pbkdf2); returns the file's path.</summary>
    public string Keystore(EthECKey key, string password, bool pbkdf2 = false)
    {
        var json = pbkdf2
            ? new KeyStorePbkdf2Service().EncryptAndGenerateKeyStoreAsJson(password, key.GetPrivateKeyAsBytes(), key.GetPublicAddress(), CheapPbkdf2)
            : new KeyStoreScryptService().EncryptAndGenerateKeyStoreAsJson(password, key.GetPrivateKeyAsBytes(), key.GetPublicAddress(), CheapScrypt);
        return File(json);
    }

    /// <summary>Writes any text to a new file here; returns its path.</summary>
    public string File(string content)
    {
        var path = Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".json");
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    /// <summary>A path in this directory where nothing is.</summary>
    public string Missing() => Path.Combine(_directory, "missing-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}

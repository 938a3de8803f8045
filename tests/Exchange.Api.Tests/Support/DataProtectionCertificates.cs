using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Exchange.Api.Tests.Support;

/// <summary>
/// Self-signed certificates for DataProtection:CertificatePath, made on the spot (nothing committed), in a
/// directory of their own removed at Dispose; <see cref="Shared"/> lives as long as the test run.
/// </summary>
public sealed class DataProtectionCertificates : IDisposable
{
    public const string Password = "test-only-certificate-password";

    private static readonly Lazy<DataProtectionCertificates> SharedFiles = new(() =>
    {
        var files = new DataProtectionCertificates();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => files.Dispose();
        return files;
    });

    private static readonly Lazy<string> SharedPfx = new(() => SharedFiles.Value.Pfx(Password));

    private readonly string _directory = Directory.CreateTempSubdirectory("exchange-certificates-").FullName;

    /// <summary>One certificate (password <see cref="Password"/>) for every clean production configuration.</summary>
    public static string Shared => SharedPfx.Value;

    /// <summary>Writes a new RSA certificate with its private key as PKCS#12; returns the file's path.</summary>
    public string Pfx(string password)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=Exchange Data Protection (test only)", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var now = TimeProvider.System.GetUtcNow();
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        return Write(certificate.Export(X509ContentType.Pkcs12, password));
    }

    /// <summary>Writes the same certificate without its private key (a .cer's bytes); returns the file's path.</summary>
    public string PublicOnly()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=Exchange Data Protection (test only)", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var now = TimeProvider.System.GetUtcNow();
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        using var withoutKey = X509CertificateLoader.LoadCertificate(certificate.Export(X509ContentType.Cert));
        return Write(withoutKey.Export(X509ContentType.Pkcs12, Password));
    }

    public string Write(byte[] content)
    {
        var path = Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".pfx");
        File.WriteAllBytes(path, content);
        return path;
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Exchange.Api.Infrastructure.Persistence;
using Microsoft.AspNetCore.DataProtection;

namespace Exchange.Api.Infrastructure;

/// <summary>The certificate that encrypts the Data Protection keys at rest (section "DataProtection").</summary>
public sealed class KeyProtectionOptions
{
    public const string Section = "DataProtection";

    /// <summary>A PKCS#12 (.pfx) file holding an RSA certificate and its private key, the same on every instance.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The file's password in a file of its own (a mounted secret); trailing line breaks are ignored. Wins over <see cref="CertificatePassword"/>.</summary>
    public string? CertificatePasswordFile { get; set; }

    /// <summary>The file's password itself, where a secret store injects it as a setting.</summary>
    public string? CertificatePassword { get; set; }
}

/// <summary>
/// Data Protection keys live in PostgreSQL so every instance reads the others' cookies and tokens. Those keys
/// decrypt the members' VivoKey tokens and forge sessions, so outside Development and Testing they are
/// encrypted with a certificate from configuration: a copy of the database alone is not enough to use them.
/// </summary>
public static class DataProtectionKeys
{
    private const string PathSetting = KeyProtectionOptions.Section + ":" + nameof(KeyProtectionOptions.CertificatePath);

    /// <summary>
    /// Registers Data Protection; with a certificate configured, keys are written encrypted and read with it.
    /// Returns why the configured certificate cannot be used, if so: the caller refuses to start with it.
    /// </summary>
    public static string? Add(IServiceCollection services, IConfiguration configuration)
    {
        var builder = services.AddDataProtection().SetApplicationName("Exchange").PersistKeysToDbContext<ExchangeDbContext>();
        var options = configuration.GetSection(KeyProtectionOptions.Section).Get<KeyProtectionOptions>() ?? new KeyProtectionOptions();
        if (string.IsNullOrWhiteSpace(options.CertificatePath))
        {
            return null;
        }

        var (certificate, problem) = Load(options);
        if (certificate is not null)
        {
            // Also registers it for decryption: the keys it wrote are read without a certificate store.
            builder.ProtectKeysWithCertificate(certificate);
        }

        return problem;
    }

    /// <summary>The guard's reasons: no certificate configured, or one that cannot encrypt and decrypt keys.</summary>
    public static void Check(IConfiguration configuration, List<string> reasons)
    {
        var options = configuration.GetSection(KeyProtectionOptions.Section).Get<KeyProtectionOptions>() ?? new KeyProtectionOptions();
        if (string.IsNullOrWhiteSpace(options.CertificatePath))
        {
            reasons.Add($"{PathSetting} is not set: the Data Protection keys (they decrypt the members' VivoKey tokens and sign the session cookies) would be stored in PostgreSQL unencrypted. " +
                "Set it to a PKCS#12 file holding an RSA certificate and its private key, the same on every instance, with its password in DataProtection:CertificatePasswordFile (or DataProtection:CertificatePassword).");
            return;
        }

        if (Load(options).Problem is { } problem)
        {
            reasons.Add(problem);
        }
    }

    private static (X509Certificate2? Certificate, string? Problem) Load(KeyProtectionOptions options)
    {
        var path = options.CertificatePath!;
        string? password = options.CertificatePassword;
        if (!string.IsNullOrWhiteSpace(options.CertificatePasswordFile))
        {
            try
            {
                password = File.ReadAllText(options.CertificatePasswordFile).TrimEnd('\r', '\n');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return (null, $"DataProtection:CertificatePasswordFile ({options.CertificatePasswordFile}) cannot be read: {e.GetType().Name}. Mount the password file where the setting says, readable by the exchange's user.");
            }
        }

        if (!File.Exists(path))
        {
            return (null, $"{PathSetting} is {path}, which does not exist: mount the certificate file there, or correct the setting.");
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password, X509KeyStorageFlags.EphemeralKeySet);
        }
        catch (CryptographicException)
        {
            // Not the exception's text: never anything near the password.
            return (null, $"{PathSetting} ({path}) cannot be read as PKCS#12 with the configured password (DataProtection:CertificatePasswordFile or DataProtection:CertificatePassword): check both.");
        }

        using var rsa = certificate.GetRSAPrivateKey();
        if (rsa is null)
        {
            certificate.Dispose();
            return (null, $"{PathSetting} ({path}) holds no RSA private key: the keys are encrypted to the certificate's RSA key and read back with its private key, so the file must hold both.");
        }

        return (certificate, null);
    }
}

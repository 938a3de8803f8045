using Exchange.Api.Infrastructure;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nethereum.Signer;

namespace Exchange.Api.Tests.Chain;

/// <summary>
/// The hot wallet's key from an encrypted keystore (Ethereum:HotWalletKeySource=Keystore): decrypted once, at
/// start-up; every failure names the setting to fix and never shows the key or the password.
/// </summary>
public sealed class HotWalletKeystoreTests : IDisposable
{
    private const string Password = "correct horse battery staple";
    private readonly KeystoreFiles _files = new();
    private readonly EthECKey _key = EthECKey.GenerateKey();

    public void Dispose() => _files.Dispose();

    private static EthereumOptions Keystore(string? path, string? password = null, string? passwordFile = null) => new()
    {
        HotWalletKeySource = HotWalletKeySource.Keystore,
        KeystorePath = path,
        KeystorePassword = password,
        KeystorePasswordFile = passwordFile,
        HotWalletPrivateKey = "",
    };

    private StartupRefusedException Refused(EthereumOptions options)
    {
        var refused = Assert.Throws<StartupRefusedException>(() => new HotWallet(Options.Create(options)));
        Assert.DoesNotContain(_key.GetPrivateKey()[2..], refused.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Password, refused.ToString(), StringComparison.Ordinal);
        return refused;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_keystore_loads_to_the_address_of_the_key_it_holds(bool pbkdf2)
    {
        var path = _files.Keystore(_key, Password, pbkdf2);

        var wallet = new HotWallet(Options.Create(Keystore(path, Password)));

        Assert.Equal(_key.GetPublicAddress(), wallet.Address);
    }

    [Fact]
    public void The_password_file_wins_and_its_trailing_line_break_is_not_part_of_the_password()
    {
        var path = _files.Keystore(_key, Password);
        var passwordFile = _files.File(Password + "\n");

        var wallet = new HotWallet(Options.Create(Keystore(path, password: "not this one", passwordFile: passwordFile)));

        Assert.Equal(_key.GetPublicAddress(), wallet.Address);
    }

    [Fact]
    public void A_wrong_password_is_refused_naming_the_setting_and_the_file()
    {
        var path = _files.Keystore(_key, Password);

        var refused = Refused(Keystore(path, "Tr0ub4dor&3"));

        Assert.Equal($"Ethereum:KeystorePassword does not decrypt the keystore at Ethereum:KeystorePath ({path}): the password is wrong, or the file is another keystore.", refused.Message);
        Assert.Null(refused.InnerException);
    }

    [Fact]
    public void A_wrong_password_file_is_named_as_the_source_of_the_password()
    {
        var path = _files.Keystore(_key, Password);
        var passwordFile = _files.File("Tr0ub4dor&3");

        var refused = Refused(Keystore(path, passwordFile: passwordFile));

        Assert.Equal(
            $"Ethereum:KeystorePasswordFile ({passwordFile}) does not decrypt the keystore at Ethereum:KeystorePath ({path}): the password is wrong, or the file is another keystore.",
            refused.Message);
    }

    [Fact]
    public void A_missing_keystore_file_is_refused_naming_the_setting()
    {
        var missing = _files.Missing();

        var refused = Refused(Keystore(missing, Password));

        Assert.Equal($"Ethereum:KeystorePath names {missing}, which does not exist: put the keystore file there, or correct the path.", refused.Message);
    }

    [Fact]
    public void A_missing_password_file_is_refused_naming_the_setting()
    {
        var missing = _files.Missing();

        var refused = Refused(Keystore(_files.Keystore(_key, Password), passwordFile: missing));

        Assert.Equal($"Ethereum:KeystorePasswordFile names {missing}, which does not exist: put the keystore's password file there, or correct the path.", refused.Message);
    }

    [Fact]
    public void An_empty_password_file_is_refused()
    {
        var empty = _files.File("\n");

        var refused = Refused(Keystore(_files.Keystore(_key, Password), passwordFile: empty));

        Assert.Equal($"Ethereum:KeystorePasswordFile names {empty}, which is empty: put the keystore's password in it.", refused.Message);
    }

    [Fact]
    public void A_keystore_without_a_password_is_refused()
    {
        var refused = Refused(Keystore(_files.Keystore(_key, Password)));

        Assert.Equal(
            "Ethereum:KeystorePasswordFile is not set (nor Ethereum:KeystorePassword): Ethereum:HotWalletKeySource is Keystore, so give the keystore's password in a file (a mounted secret) or as a setting.",
            refused.Message);
    }

    [Fact]
    public void The_keystore_source_without_a_path_is_refused()
    {
        var refused = Refused(Keystore(null, Password));

        Assert.Equal(
            "Ethereum:KeystorePath is not set: Ethereum:HotWalletKeySource is Keystore, so set it to the hot wallet's encrypted keystore file (Web3 Secret Storage JSON).",
            refused.Message);
    }

    [Fact]
    public void A_plain_key_file_given_as_the_keystore_is_refused_without_echoing_it()
    {
        var plain = _files.File(_key.GetPrivateKey() + "\n");

        var refused = Refused(Keystore(plain, Password));

        Assert.Equal(
            $"Ethereum:KeystorePath names {plain}, which is not a Web3 Secret Storage keystore (JSON, version 3, kdf scrypt or pbkdf2, cipher aes-128-ctr).",
            refused.Message);
        Assert.Null(refused.InnerException);
    }

    [Fact]
    public async Task The_host_decrypts_the_keystore_at_start_up()
    {
        var settings = HostSettings(_files.Keystore(_key, Password));

        await using var app = await ProductionConfigurationTests.BuildAsync("Development", settings);

        Assert.Equal(_key.GetPublicAddress(), app.Services.GetRequiredService<HotWallet>().Address);
    }

    [Fact]
    public async Task A_wrong_password_stops_the_host_at_start_up_not_at_the_first_withdrawal()
    {
        var settings = HostSettings(_files.Keystore(_key, Password));
        settings["Ethereum:KeystorePassword"] = "Tr0ub4dor&3";

        var refused = await Assert.ThrowsAsync<StartupRefusedException>(() => ProductionConfigurationTests.BuildAsync("Development", settings));

        Assert.StartsWith("Ethereum:KeystorePassword does not decrypt the keystore at Ethereum:KeystorePath", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_production_a_keystore_holding_a_development_account_is_refused()
    {
        var settings = HostSettings(_files.Keystore(new EthECKey(DevelopmentAccounts.PrivateKeys[3]), Password));

        var refused = await Assert.ThrowsAsync<StartupRefusedException>(() => ProductionConfigurationTests.BuildAsync("Production", settings));

        Assert.Contains(
            $"The keystore at Ethereum:KeystorePath holds anvil's and Hardhat's public development account #3 ({DevelopmentAccounts.Addresses[3]}): its key is printed by every local node",
            refused.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void The_options_never_print_the_keystore_password()
    {
        var options = Keystore("/run/secrets/hot-wallet.json", Password);

        Assert.DoesNotContain(Password, options.ToString(), StringComparison.Ordinal);
        Assert.Contains("KeystorePath = /run/secrets/hot-wallet.json", options.ToString(), StringComparison.Ordinal);
    }

    /// <summary>A clean production configuration, enough for the host to build without PostgreSQL, with the key in a keystore.</summary>
    private static Dictionary<string, string?> HostSettings(string keystorePath)
    {
        var settings = ProductionConfigurationTests.Clean();
        settings.Remove("Ethereum:HotWalletPrivateKey");
        settings["Ethereum:HotWalletKeySource"] = "Keystore";
        settings["Ethereum:KeystorePath"] = keystorePath;
        settings["Ethereum:KeystorePassword"] = Password;
        return settings;
    }
}

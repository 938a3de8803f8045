using System.Security.Cryptography;
using Exchange.Api.Infrastructure;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.VivoKey;
using Exchange.Api.Tests.Support;
using Exchange.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Nethereum.Signer;

namespace Exchange.Api.Tests;

/// <summary>
/// Production, and every environment but Development and Testing, refuses to start with the development set-up's
/// values, or with none, and says what to fix. The host is built in-process with the environment Production; the
/// guard runs before anything reaches PostgreSQL, the chain or VivoKey, so none of them is needed here.
/// </summary>
public sealed class ProductionConfigurationTests
{
    private static readonly string HotWalletKey = EthECKey.GenerateKey().GetPrivateKey();

    /// <summary>What a production deployment sets: nothing of the simulator's, anvil's or the source code's.</summary>
    internal static Dictionary<string, string?> Clean() => new()
    {
        ["ConnectionStrings:Exchange"] = "Host=db.exchange.example;Database=exchange;Username=exchange_app",
        ["ConnectionStrings:ExchangeOwner"] = "Host=db.exchange.example;Database=exchange;Username=exchange_owner",
        // So that Build returns without a database: no migration, no role grants at start-up.
        ["Exchange:MigrateOnStartup"] = "false",
        ["Exchange:ServeApi"] = "false",
        // A worker's settings (built, never started): the one kind of instance that loads the hot-wallet key.
        ["Exchange:RunJobs"] = "true",
        ["VivoKey:Authority"] = "https://connect.vivokey.example/openid",
        ["VivoKey:ValidationEndpoint"] = "https://connect.vivokey.example/v1.0/validate/",
        ["VivoKey:CallbackUrl"] = "https://exchange.example/vivokey/callback",
        ["VivoKey:ClientId"] = "exchange-production",
        ["VivoKey:ClientSecret"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)),
        ["VivoKey:ChallengeKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        ["Ethereum:RpcUrl"] = "https://node.exchange.example/rpc",
        ["Ethereum:ChainId"] = "1",
        ["Ethereum:HotWalletPrivateKey"] = HotWalletKey,
        ["Roles:Operators:0"] = "vk-3f9a2c71e0b4",
        ["DataProtection:CertificatePath"] = DataProtectionCertificates.Shared,
        ["DataProtection:CertificatePassword"] = DataProtectionCertificates.Password,
    };

    public static TheoryData<string, string?, string> Refusals => new()
    {
        { "ConnectionStrings:Exchange", "", "ConnectionStrings:Exchange is not set: set ConnectionStrings__Exchange to the PostgreSQL connection string of the application's own role (not the schema owner)." },
        { "ConnectionStrings:ExchangeOwner", "Host=db.exchange.example;Database=exchange;Username=exchange_app",
            "ConnectionStrings:Exchange connects as exchange_app, the schema owner of ConnectionStrings:ExchangeOwner: the application could rewrite the audit trail. Give the application a role of its own (the migration grants it what it needs)." },
        { "Exchange:DevCreditEndpoint", "true", "Exchange:DevCreditEndpoint is on: it lets any signed-in member credit themselves funds from nothing. Remove the setting (it is off outside Development)." },
        { "Exchange:CrashAt", "after-sign", "Exchange:CrashAt is set: it is a test hook that kills the process on purpose. Remove the setting." },
        { "VivoKey:Authority", "", "VivoKey:Authority is not set: set it to VivoKey Connect's OpenID issuer URL." },
        { "VivoKey:Authority", VivoKeyOptions.SimulatorAuthority,
            "VivoKey:Authority is http://127.0.0.1:5090/openid, a loopback address (where the VivoKey simulator runs in development), which VivoKey neither serves nor reaches: set it to VivoKey Connect's OpenID issuer URL." },
        { "VivoKey:Authority", "http://localhost:5090/openid",
            "VivoKey:Authority is http://localhost:5090/openid, a loopback address (where the VivoKey simulator runs in development), which VivoKey neither serves nor reaches: set it to VivoKey Connect's OpenID issuer URL." },
        { "VivoKey:Authority", "http://connect.vivokey.example/openid",
            "VivoKey:Authority is http://connect.vivokey.example/openid, plain http: the client secret and the members' tokens travel to it, so it must be https." },
        { "VivoKey:Authority", "connect.vivokey.example", "VivoKey:Authority is not an absolute http(s) URL: set it to VivoKey Connect's OpenID issuer URL." },
        { "VivoKey:ValidationEndpoint", VivoKeyOptions.SimulatorValidationEndpoint,
            "VivoKey:ValidationEndpoint is http://127.0.0.1:5090/v1.0/validate/, a loopback address (where the VivoKey simulator runs in development), which VivoKey neither serves nor reaches: set it to VivoKey Connect's Validation API endpoint." },
        { "VivoKey:CallbackUrl", "", "VivoKey:CallbackUrl is not set: set it to this exchange's public URL of /vivokey/callback, as registered with VivoKey." },
        { "VivoKey:CallbackUrl", "http://127.0.0.1:5080/vivokey/callback",
            "VivoKey:CallbackUrl is http://127.0.0.1:5080/vivokey/callback, a loopback address (where the VivoKey simulator runs in development), which VivoKey neither serves nor reaches: set it to this exchange's public URL of /vivokey/callback, as registered with VivoKey." },
        { "VivoKey:CallbackUrl", "http://exchange.example/vivokey/callback",
            "VivoKey:CallbackUrl is http://exchange.example/vivokey/callback, plain http: the challenge ids that approve withdrawals travel to it, so it must be https." },
        { "VivoKey:ClientId", "", "VivoKey:ClientId is not set: set it to the client id VivoKey issued this exchange." },
        { "VivoKey:ClientId", "exchange-dev", "VivoKey:ClientId is exchange-dev, the VivoKey simulator's development client: set it to the client id VivoKey issued this exchange." },
        { "VivoKey:ClientSecret", "", "VivoKey:ClientSecret is not set: set VivoKey__ClientSecret from your secret store to the secret VivoKey issued this exchange." },
        { "VivoKey:ClientSecret", "dev-only-exchange-secret",
            "VivoKey:ClientSecret is the VivoKey simulator's development secret: set VivoKey__ClientSecret from your secret store to the secret VivoKey issued this exchange." },
        { "VivoKey:ChallengeKey", "",
            "VivoKey:ChallengeKey is not set: set VivoKey__ChallengeKey from your secret store to 32 random bytes, base64 (openssl rand -base64 32), the same on every instance." },
        { "VivoKey:ChallengeKey", VivoKeyOptions.DevelopmentChallengeKey,
            "VivoKey:ChallengeKey is the development key published in the source code: anyone could forge challenge ids with it. Set VivoKey__ChallengeKey from your secret store to 32 random bytes, base64 (openssl rand -base64 32), the same on every instance." },
        { "VivoKey:ChallengeKey", "c2hvcnQta2V5",
            "VivoKey:ChallengeKey is not at least 32 bytes of base64: set VivoKey__ChallengeKey from your secret store to 32 random bytes, base64 (openssl rand -base64 32), the same on every instance." },
        { "Ethereum:RpcUrl", "", "Ethereum:RpcUrl is not set: set it to your Ethereum node's JSON-RPC URL." },
        { "Ethereum:RpcUrl", "http://node.exchange.example:8545/rpc",
            "Ethereum:RpcUrl is http://node.exchange.example:8545, plain http to another host: the node's answers (nonces, receipts, confirmations) and the signed transactions travel over it unprotected, " +
            "so it must be https (or a node on this host's loopback)." },
        { "Ethereum:RpcUrl", "http://10.0.0.7:8545",
            "Ethereum:RpcUrl is http://10.0.0.7:8545, plain http to another host: the node's answers (nonces, receipts, confirmations) and the signed transactions travel over it unprotected, " +
            "so it must be https (or a node on this host's loopback)." },
        { "Ethereum:ChainId", "0", "Ethereum:ChainId is not set: set it to the chain id of the network the exchange withdraws on (1 for Ethereum mainnet)." },
        { "Ethereum:ChainId", "31337",
            "Ethereum:ChainId is 31337, a local development chain's (anvil, Hardhat, Ganache): set it to the chain id of the network the exchange withdraws on (1 for Ethereum mainnet)." },
        { "Ethereum:ChainId", "mainnet", "Failed to convert configuration value 'mainnet' at 'Ethereum:ChainId' to type 'System.Int64'." },
        { "Ethereum:HotWalletPrivateKey", "",
            "Ethereum:HotWalletPrivateKey is not set: set Ethereum__HotWalletPrivateKey from your secret store, or keep the key in an encrypted keystore (Ethereum:HotWalletKeySource=Keystore)." },
        { "Ethereum:HotWalletPrivateKey", "0x1234",
            "Ethereum:HotWalletPrivateKey is not a private key: it must be 32 bytes of hex (64 digits, optionally 0x-prefixed) within secp256k1's range." },
        { "Ethereum:HotWalletKeySource", "Keystore",
            "Ethereum:HotWalletPrivateKey is set while Ethereum:HotWalletKeySource is Keystore: only the keystore is used, so remove the plain key from the configuration and the environment." },
        { "Roles:Operators:0", "vk-demo-trader",
            "Roles:Operators grants vk-demo-trader, a demo member of the VivoKey simulator: grant the role to your staff's VivoKey subjects instead." },
        { "Roles:Operators:0", "ops@exchange.example",
            "Roles:Operators lists ops@exchange.example, which is not a VivoKey subject: VivoKey does not verify the email it gives, so anyone could sign in with it and hold the role. " +
            "List your staff's VivoKey subjects instead (the subject field of /api/me once they have signed in)." },
        { "Roles:Compliance:0", "dana@example.test",
            "Roles:Compliance lists dana@example.test, which is not a VivoKey subject: VivoKey does not verify the email it gives, so anyone could sign in with it and hold the role. " +
            "List your staff's VivoKey subjects instead (the subject field of /api/me once they have signed in)." },
        { "DataProtection:CertificatePath", "",
            "DataProtection:CertificatePath is not set: the Data Protection keys (they decrypt the members' VivoKey tokens and sign the session cookies) would be stored in PostgreSQL unencrypted. " +
            "Set it to a PKCS#12 file holding an RSA certificate and its private key, the same on every instance, with its password in DataProtection:CertificatePasswordFile (or DataProtection:CertificatePassword)." },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task Each_development_value_or_missing_setting_is_refused_with_what_to_do(string setting, string? value, string reason)
    {
        using var keystores = new KeystoreFiles();
        var settings = Clean();
        settings[setting] = value;
        if (setting == "Ethereum:HotWalletKeySource")
        {
            // A keystore that loads, so the plain key left beside it is the one reason.
            settings["Ethereum:KeystorePath"] = keystores.Keystore(EthECKey.GenerateKey(), "correct horse");
            settings["Ethereum:KeystorePassword"] = "correct horse";
        }

        var refused = await Assert.ThrowsAsync<StartupRefusedException>(() => BuildAsync("Production", settings));

        Assert.Equal([reason], refused.Reasons);
        Assert.Equal(ProductionGuard.Heading + Environment.NewLine + "  - " + reason, refused.Message);
    }

    [Fact]
    public async Task Without_an_owner_connection_migrating_at_start_up_is_refused()
    {
        var settings = Clean();
        settings["ConnectionStrings:ExchangeOwner"] = "";
        settings["Exchange:MigrateOnStartup"] = "true";

        var refused = await Assert.ThrowsAsync<StartupRefusedException>(() => BuildAsync("Production", settings));

        Assert.Equal(
            ["ConnectionStrings:ExchangeOwner is not set while Exchange:MigrateOnStartup is on: the application's own role would migrate, and a role that owns the schema can rewrite the audit trail. " +
             "Set ConnectionStrings__ExchangeOwner to the schema owner's connection string, or set Exchange:MigrateOnStartup to false on this instance."],
            refused.Reasons);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    public async Task Each_of_anvils_public_development_accounts_is_refused_as_the_hot_wallet(int account)
    {
        var settings = Clean();
        // Without the 0x prefix: the comparison is by the derived address, not by the spelling of the key.
        settings["Ethereum:HotWalletPrivateKey"] = DevelopmentAccounts.PrivateKeys[account][2..];

        var refused = await Assert.ThrowsAsync<StartupRefusedException>(() => BuildAsync("Production", settings));

        var reason = Assert.Single(refused.Reasons);
        Assert.Equal(
            $"Ethereum:HotWalletPrivateKey is anvil's and Hardhat's public development account #{account} ({DevelopmentAccounts.Addresses[account]}): its key is printed by every local node, " +
            "and whatever reaches it on a real network is swept within seconds. Give the exchange a key of its own (Ethereum__HotWalletPrivateKey from your secret store, or an encrypted keystore).",
            reason);
        Assert.DoesNotContain(DevelopmentAccounts.PrivateKeys[account][2..], refused.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_development_accounts_are_anvils_published_ones()
    {
        // The addresses anvil prints for "test test ... junk", m/44'/60'/0'/0/0 and /9: the list derives them from the keys.
        Assert.Equal(10, DevelopmentAccounts.Addresses.Count);
        Assert.Equal("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", DevelopmentAccounts.Addresses[0]);
        Assert.Equal("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720", DevelopmentAccounts.Addresses[9]);
        Assert.Equal(DevelopmentAccounts.PrivateKeys[0], new EthereumOptions().HotWalletPrivateKey);
    }

    [Fact]
    public async Task A_clean_production_configuration_passes_the_guard()
    {
        var settings = Clean();

        await using var app = await BuildAsync("Production", settings);

        Assert.Equal(new EthECKey(HotWalletKey).GetPublicAddress(), app.Services.GetRequiredService<HotWallet>().Address);
        Assert.Empty(ProductionGuard.Reasons(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(), app.Services.GetRequiredService<HotWallet>));
    }

    [Fact]
    public async Task The_shipped_production_settings_alone_are_refused_with_every_missing_setting_named()
    {
        var source = Path.Combine(RepositoryRoot.Find()!, "src", "Exchange.Api");

        var refused = await Assert.ThrowsAsync<StartupRefusedException>(() => BuildAsync("Production", null, configuration => configuration
            .AddJsonFile(Path.Combine(source, "appsettings.json"), optional: false)
            .AddJsonFile(Path.Combine(source, "appsettings.Production.json"), optional: false)));

        Assert.Equal(
        [
            "ConnectionStrings:Exchange is not set",
            "VivoKey:Authority is not set",
            "VivoKey:ValidationEndpoint is not set",
            "VivoKey:CallbackUrl is not set",
            "VivoKey:ClientId is not set",
            "VivoKey:ClientSecret is not set",
            "VivoKey:ChallengeKey is not set",
            "Ethereum:RpcUrl is not set",
            "Ethereum:ChainId is not set",
            "Ethereum:HotWalletPrivateKey is not set",
            "DataProtection:CertificatePath is not set",
        ], refused.Reasons.Select(r => r[..r.IndexOf(':', r.IndexOf(':', StringComparison.Ordinal) + 1)]));
        Assert.Equal(refused.Reasons.Count + 1, refused.Message.Split(Environment.NewLine).Length);
    }

    [Fact]
    public async Task Production_with_the_code_defaults_alone_is_refused_for_each_development_value()
    {
        // No appsettings at all: every option keeps its default, and every default is a development one.
        var refused = await Assert.ThrowsAsync<StartupRefusedException>(() => BuildAsync("Production", new()
        {
            ["ConnectionStrings:Exchange"] = "Host=db.exchange.example;Database=exchange;Username=exchange_app",
            ["Exchange:MigrateOnStartup"] = "false",
        }));

        var reasons = string.Join(Environment.NewLine, refused.Reasons);
        foreach (var named in new[]
        {
            "VivoKey:Authority is http://127.0.0.1:5090/openid, a loopback address", "VivoKey:ValidationEndpoint is http://127.0.0.1:5090/v1.0/validate/, a loopback address",
            "VivoKey:CallbackUrl is http://127.0.0.1:5080/vivokey/callback, a loopback address", "VivoKey:ClientId is exchange-dev", "VivoKey:ClientSecret is the VivoKey simulator's development secret",
            "VivoKey:ChallengeKey is the development key", "Ethereum:ChainId is 31337", "Ethereum:HotWalletPrivateKey is anvil's and Hardhat's public development account #0",
            "DataProtection:CertificatePath is not set",
        })
        {
            Assert.Contains(named, reasons, StringComparison.Ordinal);
        }

        Assert.Equal(9, refused.Reasons.Count);
    }

    [Theory]
    [InlineData("Development")]
    [InlineData("Testing")]
    public async Task In_development_and_testing_the_development_values_are_accepted(string environment)
    {
        // The simulator's address, its client, anvil's account #0 and the dev credit endpoint: the defaults of make run and the tests.
        await using var app = await BuildAsync(environment, new()
        {
            ["ConnectionStrings:Exchange"] = "Host=127.0.0.1;Port=5433;Database=exchange;Username=exchange_app",
            ["Exchange:MigrateOnStartup"] = "false",
            ["Exchange:ServeApi"] = "false",
            ["Exchange:RunJobs"] = "true",
            ["Exchange:DevCreditEndpoint"] = "true",
        });

        Assert.Equal(DevelopmentAccounts.Addresses[0], app.Services.GetRequiredService<HotWallet>().Address);
    }

    [Fact]
    public async Task The_process_prints_the_reasons_without_a_stack_trace_and_exits_with_EX_CONFIG()
    {
        // The built host as an operator starts it, with the shipped appsettings files and nothing configured.
        await using var process = ExchangeProcess.Start(new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Production" });

        Assert.Equal(StartupRefusedException.ExitCode, await process.WaitForExitAsync());
        Assert.StartsWith(ProductionGuard.Heading, process.Output.TrimStart(), StringComparison.Ordinal);
        Assert.Contains("  - VivoKey:Authority is not set: set it to VivoKey Connect's OpenID issuer URL.", process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", process.Output, StringComparison.Ordinal);
    }

    /// <summary>Builds the host (never starts it) with exactly these settings; a refusal surfaces from Build.</summary>
    internal static Task<WebApplication> BuildAsync(string environment, Dictionary<string, string?>? settings, Action<IConfigurationBuilder>? files = null) => Task.Run(() =>
        ExchangeApp.Build(["--environment", environment], builder =>
        {
            builder.Configuration.Sources.Clear();
            files?.Invoke(builder.Configuration);
            if (settings is not null)
            {
                builder.Configuration.AddInMemoryCollection(settings);
            }

            builder.Logging.ClearProviders();
        }));
}

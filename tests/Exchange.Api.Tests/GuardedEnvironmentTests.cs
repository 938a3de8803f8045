using Exchange.Api.Infrastructure;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Api.Tests;

/// <summary>
/// The production refusals beyond Production itself and its first settings: every environment but Development and
/// Testing is refused as Production is; the node may be plain http on loopback only; the Data Protection
/// certificate must be one that encrypts and decrypts (ProductionConfigurationTests holds one line a refusal).
/// </summary>
public sealed class GuardedEnvironmentTests
{
    [Theory]
    [InlineData("Staging")]
    [InlineData("Demo")]
    public async Task Every_other_environment_is_refused_as_production_is(string environment)
    {
        // Staging reaches real users and keys too: anvil's account #0 is as public there as anywhere.
        var settings = ProductionConfigurationTests.Clean();
        settings["Ethereum:HotWalletPrivateKey"] = DevelopmentAccounts.PrivateKeys[0];

        var refused = await Assert.ThrowsAsync<StartupRefusedException>(() => ProductionConfigurationTests.BuildAsync(environment, settings));

        var reason = Assert.Single(refused.Reasons);
        Assert.StartsWith($"Ethereum:HotWalletPrivateKey is anvil's and Hardhat's public development account #0 ({DevelopmentAccounts.Addresses[0]})", reason, StringComparison.Ordinal);
        Assert.StartsWith(ProductionGuard.Heading, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_staging_process_with_anvils_development_key_exits_with_EX_CONFIG_naming_it()
    {
        var settings = ProductionConfigurationTests.Clean();
        settings["ASPNETCORE_ENVIRONMENT"] = "Staging";
        settings["Ethereum:HotWalletPrivateKey"] = DevelopmentAccounts.PrivateKeys[0];
        await using var process = ExchangeProcess.Start(settings);

        Assert.Equal(StartupRefusedException.ExitCode, await process.WaitForExitAsync());
        Assert.StartsWith(ProductionGuard.Heading, process.Output.TrimStart(), StringComparison.Ordinal);
        Assert.Contains($"  - Ethereum:HotWalletPrivateKey is anvil's and Hardhat's public development account #0 ({DevelopmentAccounts.Addresses[0]})", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_node_on_loopback_may_be_plain_http()
    {
        var settings = ProductionConfigurationTests.Clean();
        settings["Ethereum:RpcUrl"] = "http://127.0.0.1:8545";

        await using var app = await ProductionConfigurationTests.BuildAsync("Production", settings);

        Assert.Empty(ProductionGuard.Reasons(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(), app.Services.GetRequiredService<HotWallet>));
    }

    [Theory]
    [InlineData("Production")]
    [InlineData("Development")]
    public async Task A_data_protection_certificate_that_cannot_be_read_is_refused_in_every_environment(string environment)
    {
        using var certificates = new DataProtectionCertificates();
        var path = certificates.Pfx("the right password");
        var settings = ProductionConfigurationTests.Clean();
        settings["DataProtection:CertificatePath"] = path;
        settings["DataProtection:CertificatePassword"] = "a wrong password";

        var refused = await Assert.ThrowsAsync<StartupRefusedException>(() => ProductionConfigurationTests.BuildAsync(environment, settings));

        Assert.Equal(
            [$"DataProtection:CertificatePath ({path}) cannot be read as PKCS#12 with the configured password (DataProtection:CertificatePasswordFile or DataProtection:CertificatePassword): check both."],
            refused.Reasons);
        Assert.DoesNotContain("a wrong password", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_data_protection_certificate_without_its_private_key_is_refused()
    {
        using var certificates = new DataProtectionCertificates();
        var path = certificates.PublicOnly();
        var settings = ProductionConfigurationTests.Clean();
        settings["DataProtection:CertificatePath"] = path;

        var refused = await Assert.ThrowsAsync<StartupRefusedException>(() => ProductionConfigurationTests.BuildAsync("Production", settings));

        Assert.Equal(
            [$"DataProtection:CertificatePath ({path}) holds no RSA private key: the keys are encrypted to the certificate's RSA key and read back with its private key, so the file must hold both."],
            refused.Reasons);
    }
}

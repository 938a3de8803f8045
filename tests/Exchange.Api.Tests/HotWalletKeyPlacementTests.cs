using System.Net;
using Exchange.Api.Features.Operations;
using Exchange.Api.Infrastructure;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Tests.Support;
using Exchange.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Nethereum.Signer;

namespace Exchange.Api.Tests;

/// <summary>
/// Only job-running instances load the hot-wallet key: an API-only instance never reads the keystore or its
/// password (a broken one does not stop it), and knows the wallet by Ethereum:HotWalletAddress alone.
/// </summary>
public sealed class HotWalletKeyPlacementTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>, IDisposable
{
    private const string Password = "correct horse battery staple";
    private readonly KeystoreFiles _files = new();

    public static TheoryData<string> BrokenKeystores => ["missing file", "wrong password"];

    [Theory]
    [MemberData(nameof(BrokenKeystores))]
    public async Task An_api_only_instance_never_reads_the_key_and_still_serves_and_checks_the_wallet(string broken)
    {
        // One withdrawal mined by the job-running instance: the chain check has something to agree with.
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("2");
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync((await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>()));
        await trader.WaitForWithdrawalAsync(id, "confirmed");

        var settings = WithBrokenKeystore(broken);
        settings["Urls"] = $"http://127.0.0.1:{FreePort.Next()}";
        settings["Exchange:RunJobs"] = "false";
        settings["Exchange:MigrateOnStartup"] = "false";
        await using var api = ExchangeApp.Build(["--environment", "Development"], builder =>
        {
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
        });
        await api.StartAsync();

        using (var http = trader.On(settings["Urls"]!))
        {
            Assert.Equal(("1", "0"), (await http.GetFromJsonAsync<System.Text.Json.Nodes.JsonArray>("/api/balances"))!
                .Select(b => (b!["available"]!.GetValue<string>(), b["held"]!.GetValue<string>())).Single());
        }

        Assert.Equal(system.HotWalletAddress, api.Services.GetRequiredService<HotWalletAddress>().Value);
        Assert.Throws<InvalidOperationException>(() => api.Services.GetRequiredService<HotWallet>());
        await using (var scope = api.Services.CreateAsyncScope())
        {
            var report = await scope.ServiceProvider.GetRequiredService<InvariantChecker>().CheckAsync(CancellationToken.None);
            var chain = report.Invariants.Single(i => i.Name == "chain_matches_withdrawals");
            Assert.True(chain.Held, InvariantChecker.Format(report));
            Assert.Contains("the hot wallet's mined nonce is", chain.Detail, StringComparison.Ordinal);
        }

        await api.StopAsync();
    }

    [Theory]
    [MemberData(nameof(BrokenKeystores))]
    public async Task A_job_running_instance_with_the_same_broken_keystore_refuses_to_start(string broken)
    {
        var settings = WithBrokenKeystore(broken);
        settings["Exchange:RunJobs"] = "true";
        settings["Exchange:ServeApi"] = "false";
        settings["Exchange:MigrateOnStartup"] = "false";

        var refused = await Assert.ThrowsAsync<StartupRefusedException>(() => ProductionConfigurationTests.BuildAsync("Development", settings));

        Assert.Contains("Ethereum:KeystorePath", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_api_only_instance_without_the_wallets_address_refuses_to_start_and_a_worker_with_another_address_too()
    {
        var api = system.ExchangeSettings();
        api["Exchange:RunJobs"] = "false";
        api["Exchange:MigrateOnStartup"] = "false";
        api.Remove("Ethereum:HotWalletAddress");
        var refused = await Assert.ThrowsAsync<StartupRefusedException>(() => ProductionConfigurationTests.BuildAsync("Development", api));
        Assert.StartsWith("Ethereum:HotWalletAddress is not set", refused.Message, StringComparison.Ordinal);

        var worker = system.ExchangeSettings();
        worker["Exchange:ServeApi"] = "false";
        worker["Exchange:MigrateOnStartup"] = "false";
        worker["Ethereum:HotWalletAddress"] = ExchangeFixture.NewAddress();
        refused = await Assert.ThrowsAsync<StartupRefusedException>(() => ProductionConfigurationTests.BuildAsync("Development", worker));
        Assert.Contains($"the hot-wallet key is the key of {system.HotWalletAddress}", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>The fixture's settings with the key in a keystore this process cannot use.</summary>
    private Dictionary<string, string?> WithBrokenKeystore(string broken)
    {
        var settings = system.ExchangeSettings();
        settings.Remove("Ethereum:HotWalletPrivateKey");
        settings["Ethereum:HotWalletKeySource"] = "Keystore";
        settings["Ethereum:KeystorePath"] = broken == "missing file" ? _files.Missing() : _files.Keystore(new EthECKey(system.HotWalletKey), Password);
        settings["Ethereum:KeystorePassword"] = broken == "wrong password" ? "not the password" : Password;
        return settings;
    }

    public void Dispose() => _files.Dispose();
}

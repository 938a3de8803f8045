using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Exchange.Api.Infrastructure;
using Exchange.Api.Infrastructure.VivoKey;
using Exchange.Api.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Xunit;

namespace Exchange.Api.Tests.VivoKeyBehaviours;

/// <summary>VivoKey signs ID tokens with HS256 keyed with the client secret, as django-oidc-provider does; the exchange is set to match.</summary>
public sealed class Hs256Fixture : ExchangeFixture
{
    /// <summary>HMAC-SHA256 needs a key of 32 bytes or more; django-oidc-provider's secrets are longer still.</summary>
    public const string LongSecret = "hs256-test-client-secret-0123456789abcdef";

    protected override void ConfigureSimulator(IDictionary<string, string?> simulator)
    {
        simulator["Simulator:IdTokenAlgorithm"] = "HS256";
        simulator["Simulator:Clients:0:ClientSecret"] = LongSecret;
    }

    protected override void Configure(IDictionary<string, string?> exchange)
    {
        exchange["VivoKey:IdTokenAlgorithm"] = "HS256";
        exchange["VivoKey:ClientSecret"] = LongSecret;
    }
}

public sealed class IdTokenAlgorithmTests(Hs256Fixture system) : IClassFixture<Hs256Fixture>
{
    [Fact]
    public async Task A_member_signs_in_with_an_HS256_ID_token_keyed_with_the_client_secret()
    {
        var discovery = (await system.Simulator.GetFromJsonAsync<JsonObject>("/openid/.well-known/openid-configuration"))!;
        Assert.Equal(["HS256"], discovery["id_token_signing_alg_values_supported"]!.AsArray().Select(a => a!.GetValue<string>()));

        using var trader = await system.NewTraderAsync();
        var me = (await trader.Http.GetFromJsonAsync<JsonObject>("/api/me"))!;
        Assert.Equal(trader.Subject, me["subject"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_exchange_set_to_RS256_refuses_to_start_against_a_VivoKey_that_signs_HS256_naming_the_setting()
    {
        var settings = system.ExchangeSettings();
        settings["VivoKey:IdTokenAlgorithm"] = "RS256";
        settings["Exchange:MigrateOnStartup"] = "false";
        await using var app = ExchangeApp.Build(["--environment", "Development"], builder =>
        {
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
        });

        // Refused as the host starts, before anything else does (the fixture's exchange holds the same port).
        var refused = await Assert.ThrowsAsync<StartupRefusedException>(() => app.StartAsync());
        Assert.Contains("VivoKey:IdTokenAlgorithm is RS256", refused.Message, StringComparison.Ordinal);
        Assert.Contains("id_token_signing_alg_values_supported [HS256]", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("rs256")]
    [InlineData("HS512")]
    public void Only_RS256_or_HS256_is_a_setting_start_up_takes(string algorithm)
    {
        var problem = VivoKeyStartupCheck.SettingProblem(new VivoKeyOptions { IdTokenAlgorithm = algorithm, ClientSecret = Hs256Fixture.LongSecret });
        Assert.NotNull(problem);
        Assert.Contains("VivoKey:IdTokenAlgorithm", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void HS256_with_a_client_secret_shorter_than_32_bytes_is_refused()
    {
        var problem = VivoKeyStartupCheck.SettingProblem(new VivoKeyOptions { IdTokenAlgorithm = "HS256", ClientSecret = "short-secret" });
        Assert.Contains("32 bytes", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_Production_the_simulators_discovery_document_offers_all_the_exchange_needs()
    {
        var options = new VivoKeyOptions
        {
            Authority = system.SimulatorUrl + "/openid",
            IdTokenAlgorithm = "HS256",
            ClientSecret = Hs256Fixture.LongSecret,
        };
        var discovery = new VivoKeyDiscovery(new SingleClientFactory(), Options.Create(options));
        await VivoKeyStartupCheck.RunAsync(new Production(), options, discovery, NullLogger.Instance, CancellationToken.None);

        var refused = await Assert.ThrowsAsync<StartupRefusedException>(() =>
            VivoKeyStartupCheck.RunAsync(new Production(), new VivoKeyOptions { Authority = options.Authority }, discovery, NullLogger.Instance, CancellationToken.None));
        Assert.Contains("id_token_signing_alg_values_supported", refused.Message, StringComparison.Ordinal);
    }

    private sealed class SingleClientFactory : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new();
    }

    private sealed class Production : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = Environments.Production;
        public string ApplicationName { get; set; } = "Exchange.Api";
        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;
        public Microsoft.Extensions.FileProviders.IFileProvider ContentRootFileProvider { get; set; } = new Microsoft.Extensions.FileProviders.NullFileProvider();
    }
}

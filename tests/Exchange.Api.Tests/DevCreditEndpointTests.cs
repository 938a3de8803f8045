using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;

namespace Exchange.Api.Tests;

/// <summary>A Development exchange with the dev credit endpoint turned off, as every non-Development one is by default.</summary>
public sealed class DevCreditOffFixture : ExchangeFixture
{
    protected override void Configure(IDictionary<string, string?> exchange) => exchange["Exchange:DevCreditEndpoint"] = "false";
}

public sealed class DevCreditEndpointTests(DevCreditOffFixture system) : IClassFixture<DevCreditOffFixture>
{
    [Fact]
    public async Task Turned_off_the_endpoint_is_not_there_even_for_a_signed_in_member()
    {
        using var trader = await system.NewTraderAsync();

        using var credit = await trader.Http.PostAsJsonAsync("/api/dev/credit", new { asset = "ETH", amount = "10" });
        using var probe = await trader.Http.GetAsync("/api/dev");

        Assert.Equal(HttpStatusCode.NotFound, credit.StatusCode);
        // The trader page shows its "test funds" form only where this answers.
        Assert.Equal(HttpStatusCode.NotFound, probe.StatusCode);
        Assert.Equal(("0", "0"), await trader.BalanceAsync());
        var document = (await trader.Http.GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!;
        Assert.Null(document["paths"]!["/api/dev/credit"]);
        Assert.NotNull(document["paths"]!["/api/withdrawals"]);
    }
}

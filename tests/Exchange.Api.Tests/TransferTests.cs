using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;

namespace Exchange.Api.Tests;

/// <summary>Transfers between members settle inside the ledger once the sender taps.</summary>
public sealed class TransferTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    [Fact]
    public async Task An_approved_transfer_moves_the_held_funds_to_the_receivers_available_balance()
    {
        using var sender = await system.NewTraderAsync("Sam Sender");
        using var receiver = await system.NewTraderAsync("Rita Receiver");
        await sender.CreditAsync("10");

        using var response = await sender.TransferAsync("2.5", receiver.Email);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = body["id"]!.GetValue<Guid>();
        Assert.Equal("Send 2.5 ETH to Rita Receiver", body["challengeMessage"]!.GetValue<string>());
        Assert.Equal(("7.5", "2.5"), await sender.BalanceAsync());

        var challenge = await system.PendingChallengeAsync(sender.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));

        var confirmed = await sender.WaitForTransferAsync(id, "confirmed");
        Assert.Equal(["pending_approval", "approved", "confirmed"], confirmed["history"]!.AsArray().Select(h => h!["status"]!.GetValue<string>()));
        Assert.Equal(("7.5", "0"), await sender.BalanceAsync());
        Assert.Equal(("2.5", "0"), await receiver.BalanceAsync());
    }

    [Fact]
    public async Task A_declined_transfer_returns_the_funds_and_the_receiver_gets_nothing()
    {
        using var sender = await system.NewTraderAsync();
        using var receiver = await system.NewTraderAsync();
        await sender.CreditAsync("10");

        using var response = await sender.TransferAsync("4", receiver.Subject);
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var challenge = await system.PendingChallengeAsync(sender.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>(), "decline"));

        await sender.WaitForTransferAsync(id, "declined");
        Assert.Equal(("10", "0"), await sender.BalanceAsync());
        Assert.Equal(("0", "0"), await receiver.BalanceAsync());
    }

    [Fact]
    public async Task Only_the_sender_sees_a_transfer()
    {
        using var sender = await system.NewTraderAsync();
        using var receiver = await system.NewTraderAsync();
        await sender.CreditAsync("1");
        using var response = await sender.TransferAsync("1", receiver.Subject);
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();

        Assert.Equal(HttpStatusCode.Forbidden, (await receiver.Http.GetAsync($"/api/transfers/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await sender.Http.GetAsync($"/api/transfers/{id}")).StatusCode);
    }
}

using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Tests;

/// <summary>
/// The preview of the phone's words: the same text the request will send, by the same rules, and
/// nothing held, created or audited for it.
/// </summary>
public sealed class ChallengePreviewTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    [Fact]
    public async Task A_withdrawal_preview_shows_exactly_the_message_the_request_then_sends()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("3");
        var address = ExchangeFixture.NewAddress().ToLowerInvariant();

        var preview = (await trader.Http.GetFromJsonAsync<JsonObject>($"/api/withdrawals/preview?asset=ETH&amount=1.50&address={address}"))!;
        using var requested = await trader.WithdrawAsync("1.50", address);
        var response = JsonNode.Parse(await requested.Content.ReadAsStringAsync())!;

        Assert.Equal(response["challengeMessage"]!.GetValue<string>(), preview["challengeMessage"]!.GetValue<string>());
        Assert.StartsWith("Withdraw 1.5 ETH to 0x", preview["challengeMessage"]!.GetValue<string>(), StringComparison.Ordinal);
        var challenge = await system.PendingChallengeAsync(trader.Subject);
        Assert.Equal(preview["challengeMessage"]!.GetValue<string>(), challenge["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_transfer_preview_names_the_receiver_as_the_phone_will()
    {
        using var sender = await system.NewTraderAsync();
        using var receiver = await system.NewTraderAsync("Bob Builder");
        await sender.CreditAsync("1");

        var preview = (await sender.Http.GetFromJsonAsync<JsonObject>($"/api/transfers/preview?asset=ETH&amount=0.25&to={receiver.Handle}"))!;
        using var requested = await sender.TransferAsync("0.25", receiver.Handle);

        Assert.Equal($"Transfer 0.25 ETH to {receiver.Handle}", preview["challengeMessage"]!.GetValue<string>());
        Assert.Equal(preview["challengeMessage"]!.GetValue<string>(), JsonNode.Parse(await requested.Content.ReadAsStringAsync())!["challengeMessage"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_message_stored_and_sent_for_a_withdrawal_shows_the_first_and_last_12_hex_digits_in_EIP55_casing()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("200");
        var checksummed = ExchangeFixture.NewAddress();

        // 16 characters: the longest amount "Withdraw" leaves 24 digits for.
        var id = await trader.AcceptedWithdrawalAsync("123.456789012345", checksummed.ToLowerInvariant());

        var stored = await system.InScopeAsync((db, _) => db.Challenges.Where(c => c.RequestId == id).Select(c => c.Message).SingleAsync());
        var sent = (await system.PendingChallengeAsync(trader.Subject))["message"]!.GetValue<string>();
        Assert.Equal($"Withdraw 123.456789012345 ETH to {checksummed[..14]}…{checksummed[^12..]}", stored);
        Assert.Equal(stored, sent);
        Assert.Equal(60, sent.Length);
    }

    [Fact]
    public async Task A_very_long_amount_shortens_the_verb_and_one_too_long_for_24_digits_is_refused_holding_nothing()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("20");
        var address = ExchangeFixture.NewAddress();

        var oneWei = (await trader.Http.GetFromJsonAsync<JsonObject>($"/api/withdrawals/preview?asset=ETH&amount=0.000000000000000001&address={address}"))!;
        Assert.Equal($"Send 0.000000000000000001 ETH to {address[..14]}…{address[^12..]}", oneWei["challengeMessage"]!.GetValue<string>());

        foreach (var path in new[] { "/api/withdrawals/preview?asset=ETH&amount=10.000000000000000001&address=" + address, null })
        {
            using var response = path is null ? await trader.WithdrawAsync("10.000000000000000001", address) : await trader.Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var errors = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!.AsObject();
            Assert.Equal(["amount"], errors.Select(e => e.Key));
        }

        Assert.Equal(("20", "0"), await trader.BalanceAsync());
        Assert.Equal(0, (await trader.Http.GetFromJsonAsync<JsonObject>("/api/withdrawals"))!["total"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("/api/withdrawals/preview?asset=ETH&amount=1.0000000000000000001&address=0x70997970c51812dc3A010C7d01b50e0d17dc79C8", "amount", "address")]
    [InlineData("/api/withdrawals/preview?asset=DOGE&amount=1&address=0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "asset", null)]
    [InlineData("/api/transfers/preview?asset=ETH&amount=0&to=nobody@example.test", "amount", null)]
    [InlineData("/api/transfers/preview?asset=ETH&amount=1&to=nobody@example.test", "to", null)]
    public async Task A_bad_preview_names_the_fields_and_holds_creates_and_audits_nothing(string path, string field, string? otherField)
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("2");
        var actor = $"member:{trader.Subject}";
        Task<int> TradersEventsAsync() => system.InScopeAsync((db, _) => db.AuditEvents.CountAsync(e => e.Actor == actor));
        var eventsBefore = await TradersEventsAsync();

        using var response = await trader.Http.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!.AsObject();
        Assert.True(errors.ContainsKey(field), errors.ToJsonString());
        if (otherField is not null)
        {
            Assert.True(errors.ContainsKey(otherField), errors.ToJsonString());
        }

        Assert.Equal(("2", "0"), await trader.BalanceAsync());
        Assert.Equal(eventsBefore, await TradersEventsAsync());
        Assert.Equal(0, (await trader.Http.GetFromJsonAsync<JsonObject>("/api/withdrawals"))!["total"]!.GetValue<int>());
        Assert.Equal(0, await system.InScopeAsync((db, _) => db.Transfers.CountAsync(t => db.Members.Any(m => m.Id == t.MemberId && m.Subject == trader.Subject))));
    }
}

using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Tests;

/// <summary>
/// Transfers between members settle inside the ledger once the sender taps. The receiver is named by
/// the account handle the exchange issued (or the subject), never by the unverified, shared email.
/// </summary>
public sealed class TransferTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    [Fact]
    public async Task An_approved_transfer_moves_the_held_funds_to_the_receivers_available_balance()
    {
        using var sender = await system.NewTraderAsync("Sam Sender");
        using var receiver = await system.NewTraderAsync("Rita Receiver");
        await sender.CreditAsync("10");

        using var response = await sender.TransferAsync("2.5", receiver.Handle);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var id = body["id"]!.GetValue<Guid>();
        Assert.Equal($"Transfer 2.5 ETH to {receiver.Handle}", body["challengeMessage"]!.GetValue<string>());
        Assert.Equal(("7.5", "2.5"), await sender.BalanceAsync());

        var challenge = await system.PendingChallengeAsync(sender.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));

        var confirmed = await sender.WaitForTransferAsync(id, "confirmed");
        Assert.Equal(receiver.Handle, confirmed["to"]!.GetValue<string>());
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

    [Fact]
    public async Task A_transfer_to_an_email_two_members_share_is_refused_and_no_balance_moves()
    {
        var shared = $"shared-{Guid.NewGuid():N}@example.test";
        using var first = await system.NewTraderAsync(email: shared);
        using var second = await system.NewTraderAsync(email: shared);
        using var sender = await system.NewTraderAsync();
        await sender.CreditAsync("10");
        var senderActor = $"member:{sender.Subject}";
        // A refused money request is audited as such ("request.refused"); nothing else may be written for it.
        Task<int> EventsOtherThanRefusalsAsync() =>
            system.InScopeAsync((db, _) => db.AuditEvents.CountAsync(e => e.Actor == senderActor && e.Action != "request.refused"));
        var eventsBefore = await EventsOtherThanRefusalsAsync();

        foreach (var to in new[] { shared, shared.ToUpperInvariant(), $" {shared} " })
        {
            using var response = await sender.TransferAsync("1", to);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var errors = (await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject();
            Assert.True(errors.ContainsKey("to"), errors.ToJsonString());
        }

        using var preview = await sender.Http.GetAsync($"/api/transfers/preview?asset=ETH&amount=1&to={Uri.EscapeDataString(shared)}");
        Assert.Equal(HttpStatusCode.BadRequest, preview.StatusCode);

        Assert.Equal(("10", "0"), await sender.BalanceAsync());
        Assert.Equal(("0", "0"), await first.BalanceAsync());
        Assert.Equal(("0", "0"), await second.BalanceAsync());
        Assert.Equal(0, await system.InScopeAsync((db, _) => db.Transfers.CountAsync(t => db.Members.Any(m => m.Id == t.MemberId && m.Subject == sender.Subject))));
        Assert.Equal(eventsBefore, await EventsOtherThanRefusalsAsync());
        Assert.Empty((await system.Simulator.GetFromJsonAsync<JsonArray>($"/simulator/challenges?member={sender.Subject}"))!);
    }

    [Fact]
    public async Task A_transfer_to_a_handle_credits_exactly_that_member_whatever_email_they_share()
    {
        var shared = $"shared-{Guid.NewGuid():N}@example.test";
        using var first = await system.NewTraderAsync(email: shared);
        using var second = await system.NewTraderAsync(email: shared);
        using var sender = await system.NewTraderAsync();
        await sender.CreditAsync("5");
        Assert.NotEqual(first.Handle, second.Handle);

        // Typed in lower case, as a person reading it aloud might: the same handle.
        using var response = await sender.TransferAsync("1.5", second.Handle.ToLowerInvariant());
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var challenge = await system.PendingChallengeAsync(sender.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));
        await sender.WaitForTransferAsync(id, "confirmed");

        Assert.Equal(("3.5", "0"), await sender.BalanceAsync());
        Assert.Equal(("1.5", "0"), await second.BalanceAsync());
        Assert.Equal(("0", "0"), await first.BalanceAsync());
        var receiverId = await system.InScopeAsync((db, _) => db.Transfers.Where(t => t.Id == id).Select(t => t.ToMemberId).SingleAsync());
        Assert.Equal(second.Subject, await system.InScopeAsync((db, _) => db.Members.Where(m => m.Id == receiverId).Select(m => m.Subject).SingleAsync()));
    }

    [Fact]
    public async Task The_phone_shows_the_receivers_handle_never_the_name_they_chose()
    {
        using var sender = await system.NewTraderAsync();
        using var receiver = await system.NewTraderAsync("Exchange Refunds Desk");
        await sender.CreditAsync("2");

        using var response = await sender.TransferAsync("1", receiver.Subject);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        var challenge = await system.PendingChallengeAsync(sender.Subject);
        var onThePhone = challenge["message"]!.GetValue<string>();
        Assert.Equal($"Transfer 1 ETH to {receiver.Handle}", onThePhone);
        Assert.DoesNotContain("Refunds", onThePhone, StringComparison.Ordinal);
        Assert.DoesNotContain(receiver.Email, onThePhone, StringComparison.Ordinal);
        // The phone page a person reads shows the same words.
        var phone = await system.Simulator.GetStringAsync($"/phone?member={Uri.EscapeDataString(sender.Subject)}");
        Assert.Contains(receiver.Handle, phone, StringComparison.Ordinal);
        Assert.DoesNotContain("Exchange Refunds Desk", phone, StringComparison.Ordinal);
    }
}

using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Tests;

public sealed class HostileInputFixture : ExchangeFixture
{
    public const string Operator = "operator-1";
    public const string Officer = "vk-hostile-compliance";

    protected override void Configure(IDictionary<string, string?> exchange) => exchange["Roles:Compliance:0"] = Officer;
}

/// <summary>
/// Free text with a control character (U+0000 above all, which PostgreSQL refuses in text) gets a 4xx naming the
/// field, on every endpoint that takes free text; never a 500, and nothing is held, created, revoked or audited.
/// </summary>
public sealed class HostileInputTests(HostileInputFixture system) : IClassFixture<HostileInputFixture>
{
    private const string Valid = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

    [Theory]
    [InlineData("\u0000x")]
    [InlineData("EX-\u00007KQ2-9M4D")]
    [InlineData("vk-\u0001someone")]
    public async Task A_transfer_to_a_receiver_with_a_control_character_is_refused_naming_to_and_nothing_held(string to)
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var before = await system.StateAsync(trader);

        using var response = await trader.TransferAsync("1", to);

        await AssertRefusedNamingAsync(response, "to");
        await AssertNothingHeldAsync(trader);
        await system.AssertOnlyRefusedAsync(trader, before, field: "to");
    }

    [Fact]
    public async Task A_transfer_preview_to_a_receiver_with_NUL_is_refused_naming_to()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var before = await system.StateAsync(trader);

        using var response = await trader.Http.GetAsync("/api/transfers/preview?asset=ETH&amount=1&to=%00x");

        await AssertRefusedNamingAsync(response, "to");
        await AssertNothingHeldAsync(trader);
        // A read: refused without a trace in the audit trail.
        await system.AssertOnlyRefusedAsync(trader, before, refusals: 0);
    }

    [Fact]
    public async Task A_withdrawal_or_its_preview_with_NUL_in_the_address_or_asset_is_refused_naming_it_and_nothing_held()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var before = await system.StateAsync(trader);

        using (var address = await trader.WithdrawAsync("1", Valid[..10] + "\u0000" + Valid[11..]))
        {
            await AssertRefusedNamingAsync(address, "address");
        }

        using (var asset = await trader.WithdrawAsync("1", Valid, asset: "ETH\u0000"))
        {
            await AssertRefusedNamingAsync(asset, "asset");
        }

        using (var preview = await trader.Http.GetAsync($"/api/withdrawals/preview?asset=ETH&amount=1&address=%00{Valid}"))
        {
            await AssertRefusedNamingAsync(preview, "address");
        }

        using (var status = await trader.Http.GetAsync("/api/withdrawals?status=%00"))
        {
            await AssertRefusedNamingAsync(status, "status");
        }

        await AssertNothingHeldAsync(trader);
        // The two withdrawals are audited as refused; the two reads are not.
        await system.AssertOnlyRefusedAsync(trader, before, refusals: 2);
    }

    [Theory]
    // Kestrel refuses a path holding NUL before routing (a bare 400); other control characters fail the id's route constraint.
    // Only what reaches the exchange's own pipeline is audited as refused.
    [InlineData("%00", HttpStatusCode.BadRequest, 0)]
    [InlineData("%01", HttpStatusCode.NotFound, 1)]
    public async Task A_cancel_whose_id_holds_a_control_character_is_refused_and_cancels_nothing(string control, HttpStatusCode refusal, int audited)
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var withdrawal = await trader.AcceptedWithdrawalAsync("1", Valid);
        // Its trail settled (VivoKey has the challenge) before it is compared with the trail after the attempt.
        await Poll.UntilAsync(() => system.CountAsync($"withdrawal:{withdrawal}", "challenge.accepted"), n => n == 1, "VivoKey to accept the challenge");
        var before = await system.StateAsync(trader);
        var trail = await system.ActionsAsync($"withdrawal:{withdrawal}");

        using var response = await trader.SendAsync($"/api/withdrawals/{withdrawal}{control}/cancel", new { });

        Assert.Equal(refusal, response.StatusCode);
        Assert.Equal("pending_approval", (await trader.WithdrawalAsync(withdrawal))["status"]!.GetValue<string>());
        Assert.Equal(("9", "1"), await trader.BalanceAsync());
        await system.AssertOnlyRefusedAsync(trader, before, refusals: audited);
        Assert.Equal(trail, await system.ActionsAsync($"withdrawal:{withdrawal}"));
    }

    [Fact]
    public async Task An_Idempotency_Key_with_a_control_character_is_refused_and_nothing_held()
    {
        using var sender = await system.NewTraderAsync();
        using var receiver = await system.NewTraderAsync();
        await sender.CreditAsync("10");
        var before = await system.StateAsync(sender);
        var receiverBefore = await system.StateAsync(receiver);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/transfers")
        {
            Content = JsonContent.Create(new { asset = "ETH", amount = "1", to = receiver.Handle }),
        };
        // Past the client's own header checks, as a hostile client would send it.
        Assert.True(request.Headers.TryAddWithoutValidation("Idempotency-Key", "key-\u0001-one"));
        using var response = await sender.Http.SendAsync(request);

        await AssertRefusedNamingAsync(response, "Idempotency-Key");
        await AssertNothingHeldAsync(sender);
        Assert.Equal(0, await system.InScopeAsync((db, _) => db.IdempotencyRecords.CountAsync()));
        await system.AssertOnlyRefusedAsync(sender, before, field: "Idempotency-Key");
        await system.AssertOnlyRefusedAsync(receiver, receiverBefore, refusals: 0);
    }

    [Fact]
    public async Task An_operator_action_whose_reason_holds_NUL_is_refused_naming_reason_and_nothing_asked()
    {
        using var trader = await system.NewTraderAsync();
        using var ops = await system.NewTraderAsync("Olga Operator", HostileInputFixture.Operator);
        await trader.CreditAsync("5");
        var withdrawal = await trader.AcceptedWithdrawalAsync("2", Valid);
        await Poll.UntilAsync(() => system.CountAsync($"withdrawal:{withdrawal}", "challenge.accepted"), n => n == 1, "VivoKey to accept the challenge");
        var (opsBefore, traderBefore) = (await system.StateAsync(ops), await system.StateAsync(trader));
        var trail = await system.ActionsAsync($"withdrawal:{withdrawal}");

        using var response = await ops.SendAsync("/api/operations/actions", new { action = "cancel", requestId = withdrawal, reason = "Trader asked\u0000" });

        await AssertRefusedNamingAsync(response, "reason");
        Assert.Equal(0, await system.InScopeAsync((db, _) => db.OperatorActions.CountAsync(a => a.TargetId == withdrawal)));
        Assert.Equal("pending_approval", (await trader.WithdrawalAsync(withdrawal))["status"]!.GetValue<string>());
        await system.AssertOnlyRefusedAsync(ops, opsBefore, field: "reason");
        await system.AssertOnlyRefusedAsync(trader, traderBefore, refusals: 0);
        Assert.Equal(("3", "2"), traderBefore.Balance);
        Assert.Equal(trail, await system.ActionsAsync($"withdrawal:{withdrawal}"));
    }

    [Theory]
    // Kestrel refuses a path holding NUL before routing (a bare 400); the endpoint refuses any other control character itself.
    [InlineData("%00", false)]
    [InlineData("%01", true)]
    [InlineData("%1B", true)]
    public async Task Revoking_the_sessions_of_a_subject_with_a_control_character_is_refused_and_revokes_nothing(string control, bool named)
    {
        using var ops = await system.NewTraderAsync("Olga Operator", HostileInputFixture.Operator);
        using var member = await system.NewTraderAsync();
        var before = await system.StateAsync(ops);

        using var response = await ops.SendAsync($"/api/operations/members/{member.Subject}{control}/sessions/revoke", new { });

        if (named)
        {
            await AssertRefusedNamingAsync(response, "subject");
        }
        else
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await member.Http.GetAsync("/api/me")).StatusCode);
        Assert.Equal(0, await system.InScopeAsync((db, _) => db.AuditEvents.CountAsync(a => a.Action == "sessions.revoked")));
        // A NUL never reaches the exchange's pipeline (Kestrel answers), so only the others are audited as refused.
        await system.AssertOnlyRefusedAsync(ops, before, refusals: named ? 1 : 0, field: named ? "subject" : null);
    }

    [Theory]
    [InlineData("/api/audit?subject=%00x", "subject")]
    [InlineData("/api/audit?actor=member:%00", "actor")]
    [InlineData("/api/audit?action=%00", "action")]
    [InlineData("/api/audit/export?subject=%00x", "subject")]
    public async Task An_audit_search_with_NUL_in_a_filter_is_refused_naming_the_filter(string path, string field)
    {
        using var officer = await system.NewTraderAsync("Carla Compliance", HostileInputFixture.Officer);
        var before = await system.StateAsync(officer);

        using var response = await officer.Http.GetAsync(path);

        await AssertRefusedNamingAsync(response, field);
        await system.AssertOnlyRefusedAsync(officer, before, refusals: 0);
    }

    private static async Task AssertRefusedNamingAsync(HttpResponseMessage response, string field)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode} {body}");
        var errors = JsonNode.Parse(body)!["errors"]!.AsObject();
        Assert.True(errors.ContainsKey(field), body);
    }

    private async Task AssertNothingHeldAsync(Trader trader)
    {
        Assert.Equal(("10", "0"), await trader.BalanceAsync());
        var held = await system.InScopeAsync(async (db, _) =>
        {
            var member = await db.Members.Where(m => m.Subject == trader.Subject).Select(m => m.Id).SingleAsync();
            return await db.Transfers.CountAsync(t => t.MemberId == member) + await db.Withdrawals.CountAsync(w => w.MemberId == member)
                + await db.Challenges.CountAsync(c => c.MemberId == member);
        });
        Assert.Equal(0, held);
    }
}

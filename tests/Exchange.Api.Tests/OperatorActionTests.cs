using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Tests;

public sealed class OperationsFixture : ExchangeFixture
{
    public const string Operator = "operator-1";
    public const string Officer = "vk-ops-compliance";

    protected override void Configure(IDictionary<string, string?> exchange)
    {
        exchange["Roles:Compliance:0"] = Officer;
        // A challenge VivoKey keeps refusing backs off to a retry every 30 s: five minutes leave room for several.
        exchange["VivoKey:ChallengeTimeoutSeconds"] = "300";
    }
}

/// <summary>The operator's view of stuck requests, and actions that take effect only once the operator taps.</summary>
public sealed class OperatorActionTests(OperationsFixture system) : IClassFixture<OperationsFixture>
{
    [Fact]
    public async Task A_cancel_does_nothing_until_the_operator_taps_and_nothing_if_they_decline()
    {
        using var trader = await system.NewTraderAsync();
        using var ops = await system.NewTraderAsync("Olga Operator", OperationsFixture.Operator);
        await trader.CreditAsync("5");
        var withdrawal = await trader.AcceptedWithdrawalAsync("2", ExchangeFixture.NewAddress());
        var tradersChallenge = await system.PendingChallengeAsync(trader.Subject);

        // The stuck list shows it, with cancel as the action that applies once VivoKey's acceptance is recorded (no retry-send).
        var item = await Poll.UntilAsync(
            async () => (await ops.Http.GetFromJsonAsync<JsonObject>("/api/operations/stuck?olderThanSeconds=0"))!["items"]!.AsArray()
                .Single(i => i!["id"]!.GetValue<Guid>() == withdrawal)!,
            i => i["challenge"]!["state"]!.GetValue<string>() == "accepted", "VivoKey's acceptance to be recorded");
        Assert.Equal("pending_approval", item["status"]!.GetValue<string>());
        Assert.Equal(trader.Subject, item["member"]!.GetValue<string>());
        Assert.Equal(["cancel"], item["actions"]!.AsArray().Select(a => a!.GetValue<string>()));

        // Asked, then declined: nothing happened to the withdrawal or the funds.
        var declined = await RequestActionAsync(ops, "cancel", withdrawal, "Trader asked support to stop it");
        Assert.Equal("awaiting_tap", declined["status"]!.GetValue<string>());
        Assert.StartsWith("Operator: cancel withdrawal ", declined["challengeMessage"]!.GetValue<string>(), StringComparison.Ordinal);
        var opsChallenge = await OperatorsChallengeAsync(declined);
        Assert.Equal("pending_approval", (await trader.WithdrawalAsync(withdrawal))["status"]!.GetValue<string>());
        Assert.Equal(("3", "2"), await trader.BalanceAsync());

        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(opsChallenge["vivo_id"]!.GetValue<string>(), "decline"));
        await WaitForActionAsync(ops, declined["id"]!.GetValue<Guid>(), "declined");
        Assert.Equal("pending_approval", (await trader.WithdrawalAsync(withdrawal))["status"]!.GetValue<string>());
        Assert.Equal(("3", "2"), await trader.BalanceAsync());

        // Asked again and tapped: cancelled, funds back, and the operator named as the actor.
        var tapped = await RequestActionAsync(ops, "cancel", withdrawal, "Trader asked support to stop it");
        Assert.Equal("pending_approval", (await trader.WithdrawalAsync(withdrawal))["status"]!.GetValue<string>());
        opsChallenge = await OperatorsChallengeAsync(tapped);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(opsChallenge["vivo_id"]!.GetValue<string>()));
        var done = await WaitForActionAsync(ops, tapped["id"]!.GetValue<Guid>(), "executed");
        Assert.Equal($"withdrawal:{withdrawal}", done["target"]!.GetValue<string>());

        Assert.Equal("cancelled", (await trader.WithdrawalAsync(withdrawal))["status"]!.GetValue<string>());
        Assert.Equal(("5", "0"), await trader.BalanceAsync());
        var cancelledBy = await system.InScopeAsync((db, _) => db.AuditEvents
            .Where(a => a.Subject == $"withdrawal:{withdrawal}" && a.Action == "withdrawal.cancelled").Select(a => a.Actor).SingleAsync());
        Assert.Equal($"operator:{OperationsFixture.Operator}", cancelledBy);
        Assert.Equal(1, await system.CountAsync($"operator_action:{tapped["id"]}", "operator_action.executed"));
        Assert.Equal(1, await system.CountAsync($"operator_action:{declined["id"]}", "operator_action.declined"));

        // The trader's own late tap changes nothing now.
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(tradersChallenge["vivo_id"]!.GetValue<string>()));
        await Poll.UntilAsync(() => system.CountAsync($"withdrawal:{withdrawal}", "callback.ignored"), n => n == 1, "the late tap to be ignored");
        Assert.Equal(("5", "0"), await trader.BalanceAsync());
    }

    [Fact]
    public async Task An_action_that_no_longer_applies_when_tapped_does_nothing()
    {
        using var trader = await system.NewTraderAsync();
        using var ops = await system.NewTraderAsync("Olga Operator", OperationsFixture.Operator);
        await trader.CreditAsync("2");
        var withdrawal = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var tradersChallenge = await system.PendingChallengeAsync(trader.Subject);
        var action = await RequestActionAsync(ops, "cancel", withdrawal, "Looks stuck");

        // Meanwhile the trader taps: the withdrawal goes on to the chain, and the operator's tap must not undo it.
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(tradersChallenge["vivo_id"]!.GetValue<string>()));
        await trader.WaitForWithdrawalAsync(withdrawal, "confirmed");
        var opsChallenge = await OperatorsChallengeAsync(action);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(opsChallenge["vivo_id"]!.GetValue<string>()));

        var ended = await WaitForActionAsync(ops, action["id"]!.GetValue<Guid>(), "not_applicable");
        Assert.Contains("confirmed", ended["result"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("confirmed", (await trader.WithdrawalAsync(withdrawal))["status"]!.GetValue<string>());
        Assert.Equal(("1", "0"), await trader.BalanceAsync());
    }

    [Fact]
    public async Task A_challenge_VivoKey_keeps_refusing_is_sent_again_when_the_operator_confirms()
    {
        using var trader = await system.NewTraderAsync();
        using var ops = await system.NewTraderAsync("Olga Operator", OperationsFixture.Operator);
        await trader.CreditAsync("2");
        using (var fault = await system.Simulator.PostAsJsonAsync("/simulator/faults", new { member = trader.Subject, remaining = 1000, plan = new { post = "error503" } }))
        {
            fault.EnsureSuccessStatusCode();
        }

        var withdrawal = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        await Poll.UntilAsync(() => system.CountAsync($"withdrawal:{withdrawal}", "challenge.send_failed"), n => n >= 1, "a failed send");
        var stuck = (await ops.Http.GetFromJsonAsync<JsonObject>("/api/operations/stuck?olderThanSeconds=0"))!;
        var item = stuck["items"]!.AsArray().Single(i => i!["id"]!.GetValue<Guid>() == withdrawal)!;
        Assert.Equal("sending", item["challenge"]!["state"]!.GetValue<string>());
        Assert.Contains("retry-send", item["actions"]!.AsArray().Select(a => a!.GetValue<string>()));

        var action = await RequestActionAsync(ops, "retry-send", withdrawal, "VivoKey is back");
        var opsChallenge = await OperatorsChallengeAsync(action);
        // The fault stays until the action is carried out: with VivoKey answering again before the tap, the exchange's
        // own next retry could get the challenge through first, leaving the operator nothing to do.
        var failedBefore = await system.CountAsync($"withdrawal:{withdrawal}", "challenge.send_failed");
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(opsChallenge["vivo_id"]!.GetValue<string>()));
        await WaitForActionAsync(ops, action["id"]!.GetValue<Guid>(), "executed");
        // Carried out at once: another send, refused by the fault still in force.
        await Poll.UntilAsync(() => system.CountAsync($"withdrawal:{withdrawal}", "challenge.send_failed"), n => n > failedBefore, "the operator's send");
        (await system.Simulator.DeleteAsync("/simulator/faults")).EnsureSuccessStatusCode();

        // The next retry, at most 30 s on, gets through.
        var challenge = await system.PendingChallengeAsync(trader.Subject, seconds: 90);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));
        await trader.WaitForWithdrawalAsync(withdrawal, "confirmed");
    }

    [Fact]
    public async Task Only_operators_act_compliance_may_look_and_bad_requests_change_nothing()
    {
        using var trader = await system.NewTraderAsync();
        using var ops = await system.NewTraderAsync("Olga Operator", OperationsFixture.Operator);
        using var officer = await system.NewTraderAsync("Carla Compliance", OperationsFixture.Officer);
        await trader.CreditAsync("2");
        var withdrawal = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var body = new { action = "cancel", requestId = withdrawal, reason = "test" };

        using var anonymous = new HttpClient { BaseAddress = new Uri(system.ExchangeUrl) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/operations/stuck")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await trader.Http.GetAsync("/api/operations/stuck")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await trader.SendAsync("/api/operations/actions", body)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await officer.Http.GetAsync("/api/operations/stuck")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await officer.SendAsync("/api/operations/actions", body)).StatusCode);

        var refusedBefore = await system.CountAsync("path:/api/operations/actions", "request.refused");
        await AssertRefusedAsync(ops, new { action = "delete-everything", requestId = withdrawal, reason = "x" }, HttpStatusCode.BadRequest, "action");
        await AssertRefusedAsync(ops, new { action = "cancel", requestId = withdrawal, reason = "" }, HttpStatusCode.BadRequest, "reason");
        await AssertRefusedAsync(ops, new { action = "cancel", reason = "x" }, HttpStatusCode.BadRequest, "requestId");
        await AssertRefusedAsync(ops, new { action = "cancel", requestId = Guid.NewGuid(), reason = "x" }, HttpStatusCode.NotFound, null);
        // A withdrawal waiting for its tap has nothing signed to re-broadcast.
        await AssertRefusedAsync(ops, new { action = "rebroadcast", requestId = withdrawal, reason = "x" }, HttpStatusCode.Conflict, "action");

        // One action awaiting its tap per request.
        await RequestActionAsync(ops, "cancel", withdrawal, "first");
        await AssertRefusedAsync(ops, new { action = "cancel", requestId = withdrawal, reason = "second" }, HttpStatusCode.Conflict, "requestId");

        Assert.Equal("pending_approval", (await trader.WithdrawalAsync(withdrawal))["status"]!.GetValue<string>());
        Assert.Equal(("1", "1"), await trader.BalanceAsync());
        // Each of the operator's six refused actions is audited, once (the audit is written as the answer leaves).
        Assert.Equal(refusedBefore + 6, await Poll.UntilAsync(
            () => system.CountAsync("path:/api/operations/actions", "request.refused"), n => n >= refusedBefore + 6, "six refusals audited"));
    }

    /// <summary>The operator's pending challenge for this action (others of theirs may be pending too).</summary>
    private async Task<JsonObject> OperatorsChallengeAsync(JsonObject action)
    {
        var message = action["challengeMessage"]!.GetValue<string>();
        var list = await Poll.UntilAsync(
            async () => (await system.Simulator.GetFromJsonAsync<JsonArray>($"/simulator/challenges?member={OperationsFixture.Operator}&status=pending"))!,
            l => l.Any(c => c!["message"]!.GetValue<string>() == message), $"the operator's challenge \"{message}\"");
        return list.Single(c => c!["message"]!.GetValue<string>() == message)!.AsObject();
    }

    private static async Task AssertRefusedAsync(Trader ops, object body, HttpStatusCode status, string? field)
    {
        using var response = await ops.SendAsync("/api/operations/actions", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode}: {text}");
        if (field is not null)
        {
            Assert.NotNull(JsonNode.Parse(text)!["errors"]?[field]);
        }
    }

    private static async Task<JsonObject> RequestActionAsync(Trader ops, string action, Guid requestId, string reason)
    {
        using var response = await ops.SendAsync("/api/operations/actions", new { action, requestId, reason });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        return JsonNode.Parse(text)!.AsObject();
    }

    private static Task<JsonObject> WaitForActionAsync(Trader ops, Guid id, string status) =>
        Poll.UntilAsync(async () => (await ops.Http.GetFromJsonAsync<JsonObject>($"/api/operations/actions/{id}"))!,
            a => a["status"]!.GetValue<string>() == status, $"operator action {id} to be {status}");
}

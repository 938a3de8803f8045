using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Tests;

/// <summary>VivoKey's unsigned callback arriving early, twice, contradicting itself, forged or malformed.</summary>
public sealed class CallbackTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    [Fact]
    public async Task A_callback_that_arrives_before_the_POST_is_answered_is_applied()
    {
        var trader = await system.NewTraderAsync();
        await trader.CreditAsync("5");
        await system.SimulatorFaultAsync(new { callback = "before_response" }, trader.Subject);

        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());

        await trader.WaitForWithdrawalAsync(id, "confirmed");
        Assert.Equal(1, await system.CountAsync($"withdrawal:{id}", "withdrawal.approved"));
        // The POST's answer came after the callback; the vivo_id was still recorded.
        var vivoId = await system.InScopeAsync((db, _) => db.Challenges.Where(c => c.RequestId == id).Select(c => c.VivoId).SingleAsync());
        Assert.False(string.IsNullOrEmpty(vivoId));
    }

    [Fact]
    public async Task The_same_callback_twice_makes_one_transition_and_one_audit_event()
    {
        var trader = await system.NewTraderAsync();
        await trader.CreditAsync("5");
        await system.SimulatorFaultAsync(new { callback = "twice" }, trader.Subject);
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var vivoId = (await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>();

        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(vivoId));

        await trader.WaitForWithdrawalAsync(id, "confirmed");
        var delivered = (await system.Simulator.GetFromJsonAsync<JsonArray>($"/simulator/callbacks?vivo_id={vivoId}&min=2&wait_seconds=10"))!;
        Assert.Equal([200, 200], delivered.Select(d => d!["status_code"]!.GetValue<int>()));
        Assert.Equal(1, await system.CountAsync($"withdrawal:{id}", "withdrawal.approved"));
        Assert.Equal(1, await system.CountAsync($"withdrawal:{id}", "callback.ignored"));
        Assert.Equal(("4", "0"), await trader.BalanceAsync());
    }

    [Fact]
    public async Task Racing_duplicate_callbacks_make_one_transition()
    {
        var (trader, id, challenge) = await AcceptedChallengeAsync();
        var body = Callback(challenge, success: true);

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => PostCallbackAsync(body)));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a));
        await trader.WaitForWithdrawalAsync(id, "confirmed");
        Assert.Equal(1, await system.CountAsync($"withdrawal:{id}", "withdrawal.approved"));
        Assert.Equal(7, await system.CountAsync($"withdrawal:{id}", "callback.ignored"));
    }

    [Fact]
    public async Task Success_after_declined_changes_nothing()
    {
        var (trader, id, challenge) = await AcceptedChallengeAsync();
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>(), "decline"));
        await trader.WaitForWithdrawalAsync(id, "declined");

        Assert.Equal(HttpStatusCode.OK, await PostCallbackAsync(Callback(challenge, success: true)));

        Assert.Equal("declined", (await trader.WithdrawalAsync(id))["status"]!.GetValue<string>());
        Assert.Equal(1, await system.CountAsync($"withdrawal:{id}", "withdrawal.declined"));
        Assert.Equal(0, await system.CountAsync($"withdrawal:{id}", "withdrawal.approved"));
        Assert.Equal(("5", "0"), await trader.BalanceAsync());
        // Recorded as ignored, after the decline, and nothing else happened to the withdrawal.
        Assert.Equal("callback.ignored", (await system.ActionsAsync($"withdrawal:{id}"))[^1]);
        Assert.Equal(1, await system.CountAsync($"withdrawal:{id}", "callback.ignored"));
        Assert.Empty(await TransactionsAsync(id));
    }

    [Fact]
    public async Task An_id_we_never_issued_gets_404_and_changes_nothing()
    {
        var (trader, id, challenge) = await AcceptedChallengeAsync();
        var before = await system.InScopeAsync((db, _) => db.AuditEvents.CountAsync(a => a.Action == "callback.forged"));
        var trail = await system.ActionsAsync($"withdrawal:{id}");

        // A random string, and a well-formed id whose MAC is not ours.
        Assert.Equal(HttpStatusCode.NotFound, await PostCallbackAsync(new { success = true, id = "made-up", vivo_id = "x" }));
        var forged = Convert.ToBase64String(new byte[48]).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        Assert.Equal(HttpStatusCode.NotFound, await PostCallbackAsync(new { success = true, id = forged, vivo_id = challenge["vivo_id"]!.GetValue<string>() }));

        Assert.Equal("pending_approval", (await trader.WithdrawalAsync(id))["status"]!.GetValue<string>());
        Assert.Equal(("4", "1"), await trader.BalanceAsync());
        Assert.Equal(before + 2, await system.InScopeAsync((db, _) => db.AuditEvents.CountAsync(a => a.Action == "callback.forged")));
        // Refused before any lookup: the withdrawal's trail and its challenge are as they were.
        Assert.Equal(trail, await system.ActionsAsync($"withdrawal:{id}"));
        Assert.Null(await ChallengeOutcomeAsync(id));
    }

    [Fact]
    public async Task A_vivo_id_that_contradicts_the_one_we_hold_gets_409_and_changes_nothing()
    {
        var (trader, id, challenge) = await AcceptedChallengeAsync();
        var body = new { success = true, vivo_id = "not-the-vivo-id", id = challenge["id"]!.GetValue<string>() };
        var trail = await system.ActionsAsync($"withdrawal:{id}");

        Assert.Equal(HttpStatusCode.Conflict, await PostCallbackAsync(body));

        Assert.Equal("pending_approval", (await trader.WithdrawalAsync(id))["status"]!.GetValue<string>());
        Assert.Equal(("4", "1"), await trader.BalanceAsync());
        Assert.Equal([.. trail, "callback.vivo_id_mismatch"], await system.ActionsAsync($"withdrawal:{id}"));
        Assert.Null(await ChallengeOutcomeAsync(id));
        Assert.Empty(await TransactionsAsync(id));
    }

    /// <summary>257 characters: longer than any vivo_id the exchange stores.</summary>
    private const string LongVivoId = "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv";

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{\"success\":\"yes\",\"id\":\"x\"}")]
    [InlineData("{\"success\":true}")]
    [InlineData("{\"id\":\"x\",\"vivo_id\":\"y\"}")]
    [InlineData("{\"success\":false,\"id\":\"x\",\"vivo_id\":\"y\"}")]
    [InlineData("{\"success\":true,\"id\":42}")]
    [InlineData("{\"success\":true,\"id\":\"x\",\"vivo_id\":\"" + LongVivoId + "\"}")]
    public async Task A_body_that_is_not_the_documented_shape_gets_400(string raw)
    {
        var before = await CallbackActionsAsync();
        using var content = new StringContent(raw, Encoding.UTF8, "application/json");
        using var http = new HttpClient { BaseAddress = new Uri(system.ExchangeUrl) };
        using var response = await http.PostAsync("/vivokey/callback", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        // Refused at the door: audited as malformed, never looked up as an id (no forged or unknown id recorded).
        Assert.Equal([.. before, "callback.malformed"], await CallbackActionsAsync());
    }

    [Fact]
    public async Task An_oversized_body_gets_400()
    {
        var before = await CallbackActionsAsync();
        using var http = new HttpClient { BaseAddress = new Uri(system.ExchangeUrl) };
        using var content = new StringContent("{\"success\":true,\"id\":\"" + new string('a', 20_000) + "\"}", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync("/vivokey/callback", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal([.. before, "callback.malformed"], await CallbackActionsAsync());
        var audited = await system.InScopeAsync((db, _) => db.AuditEvents.Where(a => a.Action == "callback.malformed").OrderByDescending(a => a.Seq).Select(a => a.Data).FirstAsync());
        Assert.True(JsonNode.Parse(audited)!["contentLength"]!.GetValue<long>() > 8 * 1024, audited);
    }

    /// <summary>A withdrawal of 1 from 5 whose challenge VivoKey has accepted (we hold its vivo_id).</summary>
    private async Task<(Trader Trader, Guid Id, JsonObject Challenge)> AcceptedChallengeAsync()
    {
        var trader = await system.NewTraderAsync();
        await trader.CreditAsync("5");
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var challenge = await system.PendingChallengeAsync(trader.Subject);
        await Poll.UntilAsync(() => system.CountAsync($"withdrawal:{id}", "challenge.accepted"), n => n == 1, "VivoKey to accept the challenge");
        return (trader, id, challenge);
    }

    private static object Callback(JsonObject challenge, bool success) => success
        ? new { success = true, vivo_id = challenge["vivo_id"]!.GetValue<string>(), id = challenge["id"]!.GetValue<string>() }
        : new { success = false, message = "declined", error = "declined", vivo_id = challenge["vivo_id"]!.GetValue<string>(), id = challenge["id"]!.GetValue<string>() };

    /// <summary>Every event written against the callback endpoint itself (malformed, forged, unknown ids), in order.</summary>
    private Task<List<string>> CallbackActionsAsync() => system.ActionsAsync("vivokey:callback");

    /// <summary>The outcome of the withdrawal's challenge: null while it still waits for the tap.</summary>
    private Task<string?> ChallengeOutcomeAsync(Guid id) =>
        system.InScopeAsync((db, _) => db.Challenges.Where(c => c.RequestId == id).Select(c => c.Outcome).SingleAsync());

    private Task<List<string>> TransactionsAsync(Guid id) =>
        system.InScopeAsync((db, _) => db.WithdrawalTransactions.Where(t => t.WithdrawalId == id).Select(t => t.Hash).ToListAsync());

    private async Task<HttpStatusCode> PostCallbackAsync(object body)
    {
        using var http = new HttpClient { BaseAddress = new Uri(system.ExchangeUrl) };
        using var response = await http.PostAsJsonAsync("/vivokey/callback", body);
        return response.StatusCode;
    }
}

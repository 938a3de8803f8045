using System.Globalization;
using System.Net;
using System.Numerics;
using System.Text.Json.Nodes;
using Exchange.Api.Features.Operations;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Exchange.Api.Tests;

public sealed class RaceFixture : ExchangeFixture;

/// <summary>
/// Two requests that cannot both win, sent at the same moment (released together by one gate): a cancel
/// and VivoKey's success callback for one withdrawal; a withdrawal and a transfer of the same whole balance,
/// on one instance and across two; one Idempotency-Key used by two members.
/// </summary>
public sealed partial class RaceTests(RaceFixture system, ITestOutputHelper output) : IClassFixture<RaceFixture>
{
    private const int Rounds = 20;

    [Fact]
    public async Task Cancel_racing_the_success_callback_ends_each_withdrawal_once_one_way_or_the_other()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync(Rounds.ToString(CultureInfo.InvariantCulture));
        var destinations = Enumerable.Range(0, Rounds).Select(_ => ExchangeFixture.NewAddress()).ToList();
        var ids = new List<Guid>();
        foreach (var destination in destinations)
        {
            ids.Add(await trader.AcceptedWithdrawalAsync("1", destination));
        }

        // Every challenge reached VivoKey and we hold its vivo_id; nobody taps: the test is VivoKey calling back.
        var pending = await Poll.UntilAsync(
            async () => (await system.Simulator.GetFromJsonAsync<JsonArray>($"/simulator/challenges?member={trader.Subject}&status=pending"))!,
            list => list.Count == Rounds, "every challenge to reach VivoKey");
        var requestOf = await Poll.UntilAsync(
            () => system.InScopeAsync((db, _) => db.Challenges.Where(c => ids.Contains(c.RequestId) && c.VivoId != null)
                .ToDictionaryAsync(c => c.VivoId!, c => c.RequestId)),
            map => map.Count == Rounds, "VivoKey to accept every challenge");

        using var vivoKey = new HttpClient { BaseAddress = new Uri(system.ExchangeUrl) };
        var cancelled = new HashSet<Guid>();
        foreach (var (challenge, round) in pending.Select((c, i) => (c!, i)))
        {
            var vivoId = challenge["vivo_id"]!.GetValue<string>();
            var id = requestOf[vivoId];
            // Held, it is the challenge's row: the cancel and the callback both lock it first, as every writer that ends a request does.
            var start = StartFor(round);
            var (cancel, callback) = await RaceAsync(
                () => trader.SendAsync($"/api/withdrawals/{id}/cancel", new { }),
                () => vivoKey.PostAsJsonAsync("/vivokey/callback", new { success = true, id = challenge["id"]!.GetValue<string>(), vivo_id = vivoId }),
                start, $"SELECT 1 FROM challenges WHERE request_id = '{id}' FOR UPDATE");
            using (cancel)
            using (callback)
            {
                var cancelText = await cancel.Content.ReadAsStringAsync();
                var callbackText = await callback.Content.ReadAsStringAsync();
                Assert.True(callback.StatusCode == HttpStatusCode.OK, callbackText);
                var applied = JsonNode.Parse(callbackText)!["applied"]!.GetValue<bool>();
                // The one that reached the row first won.
                Assert.True(start != Start.FirstAhead || cancel.StatusCode == HttpStatusCode.OK, $"the cancel went first: {cancelText}");
                Assert.True(start != Start.SecondAhead || applied, $"the callback went first: {callbackText}");
                // Exactly one of them won: the cancel (200) and the callback found it ended, or the callback and the cancel was refused.
                if (cancel.StatusCode == HttpStatusCode.OK)
                {
                    Assert.False(applied, $"both won for {id}: cancel {cancelText}, callback {callbackText}");
                    Assert.Equal("cancelled", JsonNode.Parse(cancelText)!["status"]!.GetValue<string>());
                    cancelled.Add(id);
                }
                else
                {
                    Assert.True(cancel.StatusCode == HttpStatusCode.Conflict, $"cancel of {id}: {(int)cancel.StatusCode} {cancelText}");
                    Assert.Contains("can be cancelled", JsonNode.Parse(cancelText)!["title"]!.GetValue<string>(), StringComparison.Ordinal);
                    Assert.True(applied, $"neither won for {id}: cancel {cancelText}, callback {callbackText}");
                }
            }
        }

        output.WriteLine($"{cancelled.Count} of {Rounds} won by the cancel, {Rounds - cancelled.Count} by the callback");
        for (var i = 0; i < Rounds; i++)
        {
            var (id, destination) = (ids[i], destinations[i]);
            if (cancelled.Contains(id))
            {
                Assert.Equal("cancelled", (await trader.WithdrawalAsync(id))["status"]!.GetValue<string>());
            }
            else
            {
                await trader.WaitForWithdrawalAsync(id, "confirmed");
            }
        }

        // With every approved withdrawal mined, a cancelled one that had been signed would be on chain too.
        for (var i = 0; i < Rounds; i++)
        {
            var (id, destination) = (ids[i], destinations[i]);
            var actions = await system.ActionsAsync($"withdrawal:{id}");
            var transactions = await system.InScopeAsync((db, _) => db.WithdrawalTransactions.CountAsync(t => t.WithdrawalId == id));
            var challengeOutcome = await system.InScopeAsync((db, _) => db.Challenges.Where(c => c.RequestId == id).Select(c => c.Outcome).SingleAsync());
            var trail = string.Join(", ", actions);
            if (cancelled.Contains(id))
            {
                Assert.True(actions.Count(a => a == "withdrawal.cancelled") == 1 && !actions.Contains("withdrawal.approved"), trail);
                Assert.DoesNotContain("withdrawal.transaction_signed", actions);
                Assert.Equal(1, actions.Count(a => a == "callback.ignored"));
                Assert.Equal("cancelled", challengeOutcome);
                Assert.Equal(0, transactions);
                Assert.Equal(BigInteger.Zero, await system.Anvil.GetBalanceAsync(destination));
            }
            else
            {
                Assert.True(actions.Count(a => a == "withdrawal.approved") == 1 && !actions.Contains("withdrawal.cancelled"), trail);
                Assert.Equal(1, actions.Count(a => a == "withdrawal.transaction_signed"));
                Assert.Equal(1, actions.Count(a => a == "withdrawal.confirmed"));
                Assert.Equal("success", challengeOutcome);
                Assert.Equal(1, transactions);
                Assert.Equal(ExchangeFixture.Ether, await system.Anvil.GetBalanceAsync(destination));
            }
        }

        // The cancelled withdrawals' funds came back; nothing stays held.
        Assert.Equal((cancelled.Count.ToString(CultureInfo.InvariantCulture), "0"), await trader.BalanceAsync());
        await AssertInvariantsHoldAsync();
    }

    [Fact]
    public async Task Member_B_reusing_member_As_Idempotency_Key_with_the_same_body_gets_its_own_request()
    {
        using var alice = await system.NewTraderAsync();
        using var bob = await system.NewTraderAsync();
        using var carol = await system.NewTraderAsync();
        await alice.CreditAsync("10");
        await bob.CreditAsync("10");
        var address = ExchangeFixture.NewAddress();

        // One after the other: Bob sends exactly what Alice sent, her key included.
        var key = "shared-" + Guid.NewGuid();
        var aliceFirst = await IdOfAsync(await alice.WithdrawAsync("1", address, idempotencyKey: key));
        var bobFirst = await IdOfAsync(await bob.WithdrawAsync("1", address, idempotencyKey: key));
        Assert.NotEqual(aliceFirst, bobFirst);

        // At the same moment, for a withdrawal and for a transfer to the same receiver.
        var raced = "raced-" + Guid.NewGuid();
        var (a, b) = await RaceAsync(() => alice.WithdrawAsync("1", address, idempotencyKey: raced), () => bob.WithdrawAsync("1", address, idempotencyKey: raced), Start.AtOnce, "");
        var (aliceRaced, bobRaced) = (await IdOfAsync(a), await IdOfAsync(b));
        Assert.NotEqual(aliceRaced, bobRaced);
        var transferKey = "transfer-" + Guid.NewGuid();
        var (ta, tb) = await RaceAsync(() => alice.TransferAsync("1", carol.Subject, idempotencyKey: transferKey), () => bob.TransferAsync("1", carol.Subject, idempotencyKey: transferKey), Start.AtOnce, "");
        var (aliceTransfer, bobTransfer) = (await IdOfAsync(ta), await IdOfAsync(tb));
        Assert.NotEqual(aliceTransfer, bobTransfer);

        // Each request is its sender's: theirs to read, the other's refused, each one's own funds held.
        foreach (var (owner, other, id) in new[] { (alice, bob, aliceFirst), (bob, alice, bobFirst), (alice, bob, aliceRaced), (bob, alice, bobRaced) })
        {
            Assert.Equal("1", (await owner.WithdrawalAsync(id))["amount"]!.GetValue<string>());
            using var peek = await other.Http.GetAsync($"/api/withdrawals/{id}");
            Assert.Equal(HttpStatusCode.Forbidden, peek.StatusCode);
        }

        Assert.Equal("pending_approval", (await alice.TransferAsync(aliceTransfer))["status"]!.GetValue<string>());
        Assert.Equal("pending_approval", (await bob.TransferAsync(bobTransfer))["status"]!.GetValue<string>());
        Assert.Equal(("7", "3"), await alice.BalanceAsync());
        Assert.Equal(("7", "3"), await bob.BalanceAsync());

        // Each member's replay still returns their own first answer, and holds nothing more.
        Assert.Equal(aliceFirst, await IdOfAsync(await alice.WithdrawAsync("1", address, idempotencyKey: key)));
        Assert.Equal(bobFirst, await IdOfAsync(await bob.WithdrawAsync("1", address, idempotencyKey: key)));
        Assert.Equal(aliceRaced, await IdOfAsync(await alice.WithdrawAsync("1", address, idempotencyKey: raced)));
        Assert.Equal(bobTransfer, await IdOfAsync(await bob.TransferAsync("1", carol.Subject, idempotencyKey: transferKey)));
        Assert.Equal(("7", "3"), await alice.BalanceAsync());
        Assert.Equal(("7", "3"), await bob.BalanceAsync());
        foreach (var trader in new[] { alice, bob })
        {
            Assert.Equal(2, await CountByActorAsync(trader, "withdrawal.requested"));
            Assert.Equal(1, await CountByActorAsync(trader, "transfer.requested"));
        }
    }

    /// <summary>How two racing requests are let go.</summary>
    public enum Start
    {
        /// <summary>Released by one gate, nothing more: the machine's timing decides.</summary>
        AtOnce,
        /// <summary>Released by one gate while the test holds the row both need; let go once both wait for it.</summary>
        Together,
        /// <summary>The first sent and waiting for the held row before the second is sent: the first must win.</summary>
        FirstAhead,
        /// <summary>The second sent and waiting before the first: the second must win.</summary>
        SecondAhead,
    }

    /// <summary>The way round a round is raced: every way in turn, so each is tried whatever the machine's speed.</summary>
    private static Start StartFor(int round) => (Start)(round % 4);

    /// <summary>
    /// Sends both as <paramref name="start"/> says. Held (<paramref name="holdSql"/>, a row both lock), the two are in
    /// flight together for certain: the row is let go only once both wait behind it.
    /// </summary>
    private async Task<(TA A, TB B)> RaceAsync<TA, TB>(Func<Task<TA>> first, Func<Task<TB>> second, Start start, string holdSql)
    {
        await using var hold = start == Start.AtOnce ? null : await RowHold.TakeAsync(system.OwnerConnectionString, holdSql);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<TA>? a = null;
        Task<TB>? b = null;
        var waiting = 2L;
        Task<long> WaitersAsync(int count) => Poll.UntilAsync(hold!.WaitersAsync,
            n => n >= count || a?.IsCompleted == true || b?.IsCompleted == true, $"{count} request(s) to queue behind the held row");
        switch (start)
        {
            case Start.FirstAhead:
                a = Task.Run(first);
                waiting = Math.Min(await WaitersAsync(1), 1) + 1;
                b = Task.Run(second);
                break;
            case Start.SecondAhead:
                b = Task.Run(second);
                waiting = Math.Min(await WaitersAsync(1), 1) + 1;
                a = Task.Run(first);
                break;
            default:
                a = Task.Run(async () => { await gate.Task; return await first(); });
                b = Task.Run(async () => { await gate.Task; return await second(); });
                gate.SetResult();
                break;
        }

        if (hold is not null)
        {
            waiting = Math.Min(waiting, await WaitersAsync(2));
            await hold.ReleaseAsync();
        }

        var answers = (await a, await b);
        Assert.True(waiting >= 2, $"only {waiting} of the two requests queued behind the held row ({start})");
        return answers;
    }

    private static async Task<Guid> IdOfAsync(HttpResponseMessage response)
    {
        using var _ = response;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!["id"]!.GetValue<Guid>();
    }

    private Task<int> CountByActorAsync(Trader trader, string action) =>
        system.InScopeAsync((db, _) => db.AuditEvents.CountAsync(e => e.Actor == "member:" + trader.Subject && e.Action == action));

    private async Task AssertInvariantsHoldAsync()
    {
        var report = await system.InScopeAsync((_, services) => services.GetRequiredService<InvariantChecker>().CheckAsync(CancellationToken.None));
        Assert.True(report.Ok, InvariantChecker.Format(report));
    }
}

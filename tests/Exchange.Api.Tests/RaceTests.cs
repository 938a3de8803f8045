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
            // Every other round the challenge's row is held until both wait for it: both locked it first, as every writer that ends a request does.
            var (cancel, callback) = await AtOnceAsync(
                () => trader.SendAsync($"/api/withdrawals/{id}/cancel", new { }),
                () => vivoKey.PostAsJsonAsync("/vivokey/callback", new { success = true, id = challenge["id"]!.GetValue<string>(), vivo_id = vivoId }),
                round % 2 == 1 ? $"SELECT 1 FROM challenges WHERE request_id = '{id}' FOR UPDATE" : null);
            using (cancel)
            using (callback)
            {
                var cancelText = await cancel.Content.ReadAsStringAsync();
                var callbackText = await callback.Content.ReadAsStringAsync();
                Assert.True(callback.StatusCode == HttpStatusCode.OK, callbackText);
                var applied = JsonNode.Parse(callbackText)!["applied"]!.GetValue<bool>();
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
        var (a, b) = await AtOnceAsync(() => alice.WithdrawAsync("1", address, idempotencyKey: raced), () => bob.WithdrawAsync("1", address, idempotencyKey: raced));
        var (aliceRaced, bobRaced) = (await IdOfAsync(a), await IdOfAsync(b));
        Assert.NotEqual(aliceRaced, bobRaced);
        var transferKey = "transfer-" + Guid.NewGuid();
        var (ta, tb) = await AtOnceAsync(() => alice.TransferAsync("1", carol.Subject, idempotencyKey: transferKey), () => bob.TransferAsync("1", carol.Subject, idempotencyKey: transferKey));
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

    /// <summary>
    /// Starts both at once, released by one gate. With <paramref name="holdSql"/>, the row it locks is held until both
    /// wait behind it, then let go: the two are then in flight together for certain, whatever the machine's speed.
    /// </summary>
    private async Task<(TA A, TB B)> AtOnceAsync<TA, TB>(Func<Task<TA>> first, Func<Task<TB>> second, string? holdSql = null)
    {
        var hold = holdSql is null ? null : await RowHold.TakeAsync(system.OwnerConnectionString, holdSql);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var a = Task.Run(async () => { await gate.Task; return await first(); });
        var b = Task.Run(async () => { await gate.Task; return await second(); });
        gate.SetResult();
        var waiting = 0L;
        if (hold is not null)
        {
            await using (hold)
            {
                waiting = await Poll.UntilAsync(hold.WaitersAsync, n => n >= 2 || a.IsCompleted || b.IsCompleted, "both requests to queue behind the held row");
            }
        }

        var answers = (await a, await b);
        Assert.True(hold is null || waiting >= 2, $"only {waiting} of the two requests queued behind the held row");
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

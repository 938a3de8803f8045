using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Tests;

/// <summary>The Idempotency-Key header: bounded, bound to the request it was first used for, and scoped to the member.</summary>
public sealed class IdempotencyKeyTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    private const string Operator = "operator-1";

    [Theory]
    [InlineData("withdraw")]
    [InlineData("transfer")]
    [InlineData("cancel")]
    [InlineData("credit")]
    [InlineData("operator action")]
    public async Task A_key_over_200_characters_is_refused_with_400_naming_the_header_and_nothing_is_held_or_audited(string endpoint)
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        using var peer = await system.NewTraderAsync();
        var pending = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        using var officer = endpoint == "operator action" ? await system.NewTraderAsync("Olga Operator", Operator) : null;
        var sender = officer ?? trader;
        var before = await EventsOfAsync(sender);
        var (path, body) = endpoint switch
        {
            "withdraw" => ("/api/withdrawals", (object)new { asset = "ETH", amount = "1", address = ExchangeFixture.NewAddress() }),
            "transfer" => ("/api/transfers", new { asset = "ETH", amount = "1", to = peer.Subject }),
            "cancel" => ($"/api/withdrawals/{pending}/cancel", new { }),
            "credit" => ("/api/dev/credit", new { asset = "ETH", amount = "5" }),
            _ => ("/api/operations/actions", new { action = "cancel", requestId = pending, reason = "a key too long" }),
        };

        using var response = await sender.SendAsync(path, body, new string('k', 201));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(problem["errors"]!.AsObject().ContainsKey("Idempotency-Key"), problem.ToJsonString());
        Assert.Equal(("9", "1"), await trader.BalanceAsync());
        Assert.Equal("pending_approval", (await trader.WithdrawalAsync(pending))["status"]!.GetValue<string>());
        Assert.Equal(1, (await trader.Http.GetFromJsonAsync<JsonObject>("/api/withdrawals"))!["total"]!.GetValue<int>());
        Assert.Equal(before, await EventsOfAsync(sender));
        Assert.Equal(0, await system.InScopeAsync((db, _) => db.IdempotencyRecords.CountAsync(r => r.Key.StartsWith("kkkk"))));
        Assert.Equal(0, await system.InScopeAsync((db, _) => db.OperatorActions.CountAsync()));
    }

    [Fact]
    public async Task The_same_key_with_a_different_body_is_refused_with_422_and_nothing_more_is_held()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        using var peer = await system.NewTraderAsync();
        using var other = await system.NewTraderAsync();
        var address = ExchangeFixture.NewAddress();
        var key = Guid.NewGuid().ToString();

        using var first = await trader.WithdrawAsync("2", address, idempotencyKey: key);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        foreach (var (amount, to) in new[] { ("3", address), ("2", ExchangeFixture.NewAddress()) })
        {
            using var changed = await trader.WithdrawAsync(amount, to, idempotencyKey: key);
            await AssertReusedAsync(changed);
        }

        var transferKey = Guid.NewGuid().ToString();
        using (var transfer = await trader.TransferAsync("1", peer.Subject, idempotencyKey: transferKey))
        {
            Assert.Equal(HttpStatusCode.Accepted, transfer.StatusCode);
        }

        using (var elsewhere = await trader.TransferAsync("1", other.Subject, idempotencyKey: transferKey))
        {
            await AssertReusedAsync(elsewhere);
        }

        // The repeat of the first request itself still gets its first answer.
        using var repeat = await trader.WithdrawAsync("2", address, idempotencyKey: key);
        Assert.Equal(HttpStatusCode.Accepted, repeat.StatusCode);
        Assert.Equal((await first.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>(),
            (await repeat.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>());
        Assert.Equal(("7", "3"), await trader.BalanceAsync());
        Assert.Equal(1, await CountActionAsync(trader, "withdrawal.requested"));
        Assert.Equal(1, await CountActionAsync(trader, "transfer.requested"));
    }

    [Fact]
    public async Task Two_members_using_the_same_key_each_get_their_own_request()
    {
        using var alice = await system.NewTraderAsync();
        using var bob = await system.NewTraderAsync();
        await alice.CreditAsync("10");
        await bob.CreditAsync("10");
        var key = "shared-" + Guid.NewGuid();

        var a = await alice.WithdrawAsync("1", ExchangeFixture.NewAddress(), idempotencyKey: key);
        var b = await bob.WithdrawAsync("2", ExchangeFixture.NewAddress(), idempotencyKey: key);

        Assert.Equal(HttpStatusCode.Accepted, a.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, b.StatusCode);
        var aId = (await a.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        var bId = (await b.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        Assert.NotEqual(aId, bId);
        Assert.Equal("1", (await alice.WithdrawalAsync(aId))["amount"]!.GetValue<string>());
        Assert.Equal("2", (await bob.WithdrawalAsync(bId))["amount"]!.GetValue<string>());
        Assert.Equal(("9", "1"), await alice.BalanceAsync());
        Assert.Equal(("8", "2"), await bob.BalanceAsync());
        Assert.Equal(1, await CountActionAsync(alice, "withdrawal.requested"));
        Assert.Equal(1, await CountActionAsync(bob, "withdrawal.requested"));
        a.Dispose();
        b.Dispose();

        // The only unique index on the keys is (member_id, key): nothing makes a key unique across members.
        var unique = await system.InScopeAsync((db, _) => db.Database.SqlQueryRaw<string>(
            """
            SELECT string_agg(a.attname, ',' ORDER BY k.ord) AS "Value"
            FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
            WHERE i.indrelid = 'idempotency_keys'::regclass AND i.indisunique GROUP BY i.indexrelid
            """).ToListAsync());
        Assert.Equal(["member_id,key"], unique);
    }

    private static async Task AssertReusedAsync(HttpResponseMessage response)
    {
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True(response.StatusCode == HttpStatusCode.UnprocessableEntity, problem.ToJsonString());
        Assert.Equal("Idempotency-Key reused with a different request", problem["title"]!.GetValue<string>());
        Assert.True(problem["errors"]!.AsObject().ContainsKey("Idempotency-Key"), problem.ToJsonString());
    }

    private Task<int> CountActionAsync(Trader trader, string action) =>
        system.InScopeAsync((db, _) => db.AuditEvents.CountAsync(e => e.Actor == "member:" + trader.Subject && e.Action == action));

    /// <summary>What the member's requests wrote to the audit trail; the refusal's own record aside.</summary>
    private Task<int> EventsOfAsync(Trader trader) =>
        system.InScopeAsync((db, _) => db.AuditEvents.CountAsync(e => e.Actor == "member:" + trader.Subject && e.Action != "request.refused" && e.Action != "access.denied"));
}

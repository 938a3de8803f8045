using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Exchange.Api.Tests;

public sealed class InvariantsFixture : ExchangeFixture;

/// <summary>The invariant checker holds on an honest run and names what a tampered database breaks.</summary>
public sealed class InvariantCheckerTests(InvariantsFixture system) : IClassFixture<InvariantsFixture>
{
    [Fact]
    public async Task The_checker_holds_after_real_business_and_names_the_member_whose_balance_was_forged()
    {
        using var trader = await system.NewTraderAsync();
        using var ops = await system.NewTraderAsync("Olga Operator", "operator-1");
        await trader.CreditAsync("3");
        var withdrawal = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var challenge = await system.PendingChallengeAsync(trader.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));
        await trader.WaitForWithdrawalAsync(withdrawal, "confirmed");
        var declined = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync((await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>(), "decline"));
        await trader.WaitForWithdrawalAsync(declined, "declined");

        Assert.Equal(HttpStatusCode.Forbidden, (await trader.Http.GetAsync("/api/operations/invariants")).StatusCode);
        var report = await Poll.UntilAsync(async () => (await ops.Http.GetFromJsonAsync<JsonObject>("/api/operations/invariants"))!,
            r => r["ok"]!.GetValue<bool>(), "every invariant to hold");
        Assert.Equal(9, report["invariants"]!.AsArray().Count);

        // Money from nowhere, written behind the application's back.
        var memberId = await system.InScopeAsync((db, _) => db.Members.Where(m => m.Subject == trader.Subject).Select(m => m.Id).SingleAsync());
        await using (var connection = new NpgsqlConnection(system.OwnerConnectionString))
        {
            await connection.OpenAsync();
            await using var forge = new NpgsqlCommand($"UPDATE balances SET available = available + 1 WHERE member_id = '{memberId}'", connection);
            await forge.ExecuteNonQueryAsync();
        }

        var broken = (await ops.Http.GetFromJsonAsync<JsonObject>("/api/operations/invariants"))!;
        Assert.False(broken["ok"]!.GetValue<bool>());
        var byName = broken["invariants"]!.AsArray().ToDictionary(i => i!["name"]!.GetValue<string>(), i => i!.AsObject());
        Assert.False(byName["conservation"]["held"]!.GetValue<bool>());
        Assert.False(byName["balances_match_journal"]["held"]!.GetValue<bool>());
        Assert.Contains(byName["balances_match_journal"]["offending"]!.AsArray(), o => o!.GetValue<string>().StartsWith(memberId.ToString(), StringComparison.Ordinal));
        Assert.True(byName["chain_matches_withdrawals"]["held"]!.GetValue<bool>());
        Assert.True(byName["holds_released_exactly_once"]["held"]!.GetValue<bool>());
    }
}

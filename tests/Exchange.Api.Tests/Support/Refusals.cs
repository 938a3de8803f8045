using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Tests.Support;

/// <summary>
/// What a refused request must leave as it found it, read back rather than inferred from the status code:
/// the member's balance, their ledger, requests and challenges, and their audit trail, which may gain only
/// the refusal itself ("request.refused", written for a 4xx on the money endpoints).
/// </summary>
public static class Refusals
{
    public sealed record MemberState(
        string Actor,
        (string Available, string Held) Balance,
        (int Journal, int Withdrawals, int Transfers, int Challenges) Rows,
        long LastSeq,
        List<string> Actions);

    /// <summary>The member as it stands before the request under test.</summary>
    public static async Task<MemberState> StateAsync(this ExchangeFixture system, Trader trader, string asset = "ETH")
    {
        var actor = "member:" + trader.Subject;
        var balance = await BalanceOrNoneAsync(trader, asset);
        var (rows, lastSeq, actions) = await system.InScopeAsync(async (db, _) =>
        {
            var member = await db.Members.Where(m => m.Subject == trader.Subject).Select(m => m.Id).SingleAsync();
            var counts = (
                await db.JournalEntries.CountAsync(j => j.MemberId == member),
                await db.Withdrawals.CountAsync(w => w.MemberId == member),
                await db.Transfers.CountAsync(t => t.MemberId == member || t.ToMemberId == member),
                await db.Challenges.CountAsync(c => c.MemberId == member));
            var events = await db.AuditEvents.Where(a => a.Actor == actor).OrderBy(a => a.Seq).Select(a => new { a.Seq, a.Action }).ToListAsync();
            return (counts, events.Select(e => e.Seq).DefaultIfEmpty(0).Max(), events.Select(e => e.Action).ToList());
        });
        return new MemberState(actor, balance, rows, lastSeq, actions);
    }

    /// <summary>
    /// Nothing held, created or audited since <paramref name="before"/> but <paramref name="refusals"/> refusal
    /// events, each naming <paramref name="field"/> among its errors when one is given.
    /// </summary>
    public static async Task AssertOnlyRefusedAsync(this ExchangeFixture system, Trader trader, MemberState before, int refusals = 1, string? field = null, string asset = "ETH")
    {
        // The refusal is written once the answer is decided: wait for it rather than race it.
        var after = await Poll.UntilAsync(() => system.StateAsync(trader, asset), s => s.Actions.Count >= before.Actions.Count + refusals,
            $"{refusals} refusal(s) audited for {before.Actor}", 10);
        Assert.Equal(before.Balance, after.Balance);
        Assert.Equal(before.Rows, after.Rows);
        Assert.Equal([.. before.Actions, .. Enumerable.Repeat("request.refused", refusals)], after.Actions);

        if (field is not null)
        {
            var refused = await system.InScopeAsync((db, _) => db.AuditEvents
                .Where(a => a.Actor == before.Actor && a.Action == "request.refused" && a.Seq > before.LastSeq).Select(a => a.Data).ToListAsync());
            Assert.All(refused, data => Assert.True(JsonNode.Parse(data)!["errors"]?[field] is not null, $"the refusal does not name {field}: {data}"));
        }
    }

    private static async Task<(string Available, string Held)> BalanceOrNoneAsync(Trader trader, string asset)
    {
        var lines = (await trader.Http.GetFromJsonAsync<JsonArray>("/api/balances"))!;
        return lines.SingleOrDefault(l => l!["asset"]!.GetValue<string>() == asset) is { } line
            ? (line["available"]!.GetValue<string>(), line["held"]!.GetValue<string>())
            : ("0", "0");
    }
}

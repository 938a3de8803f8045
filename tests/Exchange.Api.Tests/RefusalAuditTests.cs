using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Tests;

public sealed class RateLimitedAuditFixture : ExchangeFixture
{
    public const string Officer = "vk-roles-officer";

    protected override void Configure(IDictionary<string, string?> exchange)
    {
        exchange["RefusalAudit:PerKeyPerMinute"] = "3";
        exchange["RefusalAudit:PerMinute"] = "1000";
        exchange["Roles:Compliance:0"] = Officer;
    }
}

/// <summary>Refused attempts are audited, a flood of them only a few times a minute; roles live in the database.</summary>
public sealed class RefusalAuditTests(RateLimitedAuditFixture system) : IClassFixture<RateLimitedAuditFixture>
{
    [Fact]
    public async Task A_flood_of_forged_callbacks_writes_a_few_events_and_counts_the_rest()
    {
        using var http = new HttpClient { BaseAddress = new Uri(system.ExchangeUrl) };
        // A fresh minute of the test clock, stopped there: the whole flood falls in one window, however slow the machine.
        using var frozen = system.Clock.Freeze();
        system.Clock.AdvanceToNextMinute();
        var before = await CountAsync("callback.forged");
        for (var i = 0; i < 20; i++)
        {
            using var content = new StringContent($"{{\"success\":true,\"id\":\"forged-{i}\",\"vivo_id\":\"1\"}}", Encoding.UTF8, "application/json");
            using var response = await http.PostAsync("/vivokey/callback", content);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        // The limit written in this fresh minute, exactly; the rest held back.
        var written = await CountAsync("callback.forged") - before;
        Assert.Equal(3, written);

        // The next minute, the first one written carries the count of those held back.
        system.Clock.Advance(TimeSpan.FromMinutes(1));
        using (var content = new StringContent("{\"success\":true,\"id\":\"forged-next\",\"vivo_id\":\"1\"}", Encoding.UTF8, "application/json"))
        {
            Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("/vivokey/callback", content)).StatusCode);
        }

        var last = await system.InScopeAsync((db, _) => db.AuditEvents.Where(a => a.Action == "callback.forged").OrderByDescending(a => a.Seq).FirstAsync());
        Assert.StartsWith("anonymous:", last.Actor, StringComparison.Ordinal);
        var data = JsonNode.Parse(last.Data)!;
        Assert.Equal(20 - written, data["suppressed"]!.GetValue<int>());
        Assert.Equal("forged-n", data["attempt"]!["idPrefix"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_refused_withdrawal_is_audited_with_its_reasons_and_changes_nothing()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("1");
        using var response = await trader.WithdrawAsync("0.1234567890123456789", "0x52908400098527886E0F7030069857D2E4169Ee7");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);

        var refused = await system.InScopeAsync((db, _) => db.AuditEvents
            .Where(a => a.Actor == "member:" + trader.Subject && a.Action == "request.refused").ToListAsync());
        var only = Assert.Single(refused);
        Assert.Equal("path:/api/withdrawals", only.Subject);
        var errors = JsonNode.Parse(only.Data)!["errors"]!;
        Assert.NotNull(errors["amount"]);
        Assert.NotNull(errors["address"]);
        Assert.Equal(("1", "0"), await trader.BalanceAsync());
        Assert.Equal(0, await system.InScopeAsync((db, _) => db.Withdrawals.CountAsync()));
    }

    [Fact]
    public async Task Roles_are_stored_at_sign_in_and_compliance_sees_the_dashboard_read_only()
    {
        using var officer = await system.NewTraderAsync("Rita Roles", RateLimitedAuditFixture.Officer);
        var stored = await system.InScopeAsync((db, _) =>
            (from r in db.MemberRoles join m in db.Members on r.MemberId equals m.Id where m.Subject == RateLimitedAuditFixture.Officer select r.Role).ToListAsync());
        Assert.Equal(["compliance"], stored);
        Assert.True(await system.InScopeAsync(async (db, _) =>
        {
            var member = await db.Members.SingleAsync(m => m.Subject == RateLimitedAuditFixture.Officer);
            return await db.AuditEvents.AnyAsync(a => a.Action == "role.granted" && a.Subject == $"member:{member.Id}");
        }));
        var me = (await officer.Http.GetFromJsonAsync<JsonObject>("/api/me"))!;
        Assert.Equal(["trader", "compliance"], me["roles"]!.AsArray().Select(r => r!.GetValue<string>()));

        // Compliance reads the dashboard; the operator's buttons are not there for them.
        using var ops = await system.NewTraderAsync("Olga Operator", "operator-1");
        var asOfficer = await officer.Http.GetStringAsync("/hangfire/recurring");
        var asOperator = await ops.Http.GetStringAsync("/hangfire/recurring");
        Assert.Contains("reconcile", asOfficer, StringComparison.Ordinal);
        Assert.Contains("js-jobs-list-command", asOperator, StringComparison.Ordinal);
        Assert.DoesNotContain("js-jobs-list-command", asOfficer, StringComparison.Ordinal);

        // And a trader without either role is turned away, and that is audited.
        using var trader = await system.NewTraderAsync();
        Assert.Equal(HttpStatusCode.Forbidden, (await trader.Http.GetAsync("/hangfire")).StatusCode);
        Assert.True(await system.InScopeAsync((db, _) => db.AuditEvents.AnyAsync(a => a.Actor == "member:" + trader.Subject && a.Action == "access.denied")));
    }

    private Task<int> CountAsync(string action) => system.InScopeAsync((db, _) => db.AuditEvents.CountAsync(a => a.Action == action));
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Tests.Support;
using Exchange.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Exchange.Api.Tests;

/// <summary>
/// Sessions live on the server (member_sessions): signing out ends one for every copy of its cookie, and
/// an operator's revocation or a change of roles ends all of a member's, on every instance.
/// </summary>
public sealed class SessionRevocationTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    /// <summary>The fixture's configured operator (Roles:Operators:0).</summary>
    private const string Operator = "operator-1";

    [Fact]
    public async Task After_sign_out_a_copy_of_the_session_cookie_is_refused()
    {
        using var trader = await system.NewTraderAsync();
        using var copy = CopyOf(trader);
        Assert.Equal(HttpStatusCode.OK, await MeAsync(copy));

        using var logout = await trader.Http.PostAsync("/logout", null);

        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(copy));
        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(trader));
        Assert.NotNull(await SessionsAsync(trader.Subject, revoked: true));
    }

    [Fact]
    public async Task An_operator_ends_every_session_of_a_member_and_the_revocation_is_audited()
    {
        using var member = await system.NewTraderAsync();
        using var sameMemberElsewhere = await system.NewTraderAsync(subject: member.Subject);
        using var ops = await system.NewTraderAsync("Olga Operator", Operator);
        Assert.Equal(HttpStatusCode.OK, await MeAsync(member));

        using var response = await ops.SendAsync($"/api/operations/members/{member.Subject}/sessions/revoke", new { });

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal(2, JsonNode.Parse(body)!["revoked"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(member));
        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(sameMemberElsewhere));
        Assert.Equal(HttpStatusCode.OK, await MeAsync(ops));
        var memberId = await system.InScopeAsync((db, _) => db.Members.Where(m => m.Subject == member.Subject).Select(m => m.Id).SingleAsync());
        var audited = await system.InScopeAsync((db, _) => db.AuditEvents.AsNoTracking()
            .Where(a => a.Action == "sessions.revoked" && a.Subject == $"member:{memberId}").Select(a => new { a.Actor, a.Data }).SingleAsync());
        Assert.Equal("member:" + Operator, audited.Actor);
        Assert.Equal(2, JsonNode.Parse(audited.Data)!["count"]!.GetValue<int>());

        // The member signs in again as usual.
        using var again = await system.NewTraderAsync(subject: member.Subject);
        Assert.Equal(HttpStatusCode.OK, await MeAsync(again));
    }

    [Fact]
    public async Task Only_operators_revoke_sessions_and_an_unknown_member_is_404()
    {
        using var trader = await system.NewTraderAsync();
        using var victim = await system.NewTraderAsync();
        using var ops = await system.NewTraderAsync("Olga Operator", Operator);

        using var refused = await trader.SendAsync($"/api/operations/members/{victim.Subject}/sessions/revoke", new { });
        using var unknown = await ops.SendAsync("/api/operations/members/vk-nobody-at-all/sessions/revoke", new { });

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.OK, await MeAsync(victim));
    }

    [Fact]
    public async Task A_change_of_roles_ends_the_members_sessions()
    {
        using var member = await system.NewTraderAsync();
        var memberId = await system.InScopeAsync((db, _) => db.Members.Where(m => m.Subject == member.Subject).Select(m => m.Id).SingleAsync());

        // A grant, written as RoleGrants writes one (any writer of member_roles, the trigger does not care which).
        await system.InScopeAsync(async (db, _) =>
        {
            db.MemberRoles.Add(new MemberRole { MemberId = memberId, Role = "compliance", GrantedAt = DateTimeOffset.UnixEpoch, Source = "configuration" });
            return await db.SaveChangesAsync();
        });
        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(member));

        // Signing in again applies the configuration (no compliance role: revoked again) and opens a new session.
        using var again = await system.NewTraderAsync(subject: member.Subject);
        Assert.Equal(HttpStatusCode.OK, await MeAsync(again));
        Assert.Empty(await system.InScopeAsync((db, _) => db.MemberRoles.Where(r => r.MemberId == memberId).ToListAsync()));

        await system.InScopeAsync(async (db, _) =>
        {
            db.MemberRoles.Add(new MemberRole { MemberId = memberId, Role = "operator", GrantedAt = DateTimeOffset.UnixEpoch, Source = "configuration" });
            await db.SaveChangesAsync();
            db.MemberRoles.Remove(await db.MemberRoles.SingleAsync(r => r.MemberId == memberId));
            return await db.SaveChangesAsync();
        });
        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(again));
    }

    [Fact]
    public async Task A_session_is_good_on_every_instance_and_ends_on_every_instance()
    {
        using var trader = await system.NewTraderAsync();
        var settings = system.ExchangeSettings();
        settings["Urls"] = $"http://127.0.0.1:{FreePort.Next()}";
        settings["Exchange:RunJobs"] = "false";
        settings["Exchange:MigrateOnStartup"] = "false";
        await using var second = ExchangeApp.Build(["--environment", "Development"], builder =>
        {
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
        });
        await second.StartAsync();
        using var onSecond = trader.On(settings["Urls"]!);
        Assert.Equal(trader.Subject, (await onSecond.GetFromJsonAsync<JsonObject>("/api/me"))!["subject"]!.GetValue<string>());

        using var logout = await onSecond.PostAsync("/logout", null);

        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(trader));
        await second.StopAsync();
    }

    /// <summary>Another browser holding a copy of the trader's cookies (a stolen session).</summary>
    private Trader CopyOf(Trader trader)
    {
        var copy = new Trader(system, trader.Subject, trader.Email);
        copy.Cookies.Add(trader.Cookies.GetAllCookies());
        return copy;
    }

    private static async Task<HttpStatusCode> MeAsync(Trader trader)
    {
        using var response = await trader.Http.GetAsync("/api/me");
        return response.StatusCode;
    }

    private Task<MemberSession?> SessionsAsync(string subject, bool revoked) => system.InScopeAsync((db, _) =>
        db.MemberSessions.AsNoTracking()
            .Where(s => db.Members.Any(m => m.Id == s.MemberId && m.Subject == subject) && (s.RevokedAt != null) == revoked)
            .FirstOrDefaultAsync());
}

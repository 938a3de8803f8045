using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Exchange.Api.Features.Account;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Tests.Support;
using Exchange.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Exchange.Api.Tests;

/// <summary>Staff emails listed beside a subject, as a configuration from before subject-only roles would.</summary>
public sealed class StaffFixture : ExchangeFixture
{
    public const string OperatorEmail = "ops@exchange.example";
    public const string ComplianceEmail = "compliance@exchange.example";
    public const string Officer = "vk-officer-by-subject";

    public CapturedLogs Logs { get; } = new();

    protected override void Configure(IDictionary<string, string?> exchange)
    {
        exchange["Roles:Operators:1"] = OperatorEmail;
        exchange["Roles:Compliance:0"] = ComplianceEmail;
        exchange["Roles:Compliance:1"] = Officer;
    }

    protected override void ConfigureHost(WebApplicationBuilder builder) => builder.Logging.AddProvider(Logs);
}

/// <summary>
/// Roles go to VivoKey subjects only. VivoKey does not verify the email it gives: anyone can make a VivoKey
/// account with a staff member's address, so an email in Roles:* grants nothing (outside Development and
/// Testing it is refused: ProductionConfigurationTests), and roles an email granted before are revoked at start-up.
/// </summary>
public sealed class StaffBySubjectTests(StaffFixture system) : IClassFixture<StaffFixture>
{
    [Fact]
    public async Task A_member_whose_vivokey_email_is_a_configured_staff_email_is_a_trader_only()
    {
        using var impostor = await system.NewTraderAsync("Olga Ops", email: StaffFixture.OperatorEmail);
        using var alsoImpostor = await system.NewTraderAsync("Carl Compliance", email: StaffFixture.ComplianceEmail.ToUpperInvariant());

        foreach (var member in new[] { impostor, alsoImpostor })
        {
            var me = (await member.Http.GetFromJsonAsync<JsonObject>("/api/me"))!;
            Assert.Equal(["trader"], me["roles"]!.AsArray().Select(r => r!.GetValue<string>()));
            Assert.Equal(HttpStatusCode.Forbidden, (await member.Http.GetAsync("/hangfire")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await member.Http.GetAsync("/api/operations/stuck")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await member.Http.GetAsync("/api/audit")).StatusCode);
            Assert.Equal(0, await system.InScopeAsync((db, _) => db.MemberRoles.CountAsync(r => db.Members.Any(m => m.Id == r.MemberId && m.Subject == member.Subject))));
        }

        // Each email entry is named in a warning; the subject beside them still grants its role.
        Assert.Contains(system.Logs.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("Roles:Operators lists ops@exchange.example", StringComparison.Ordinal));
        Assert.Contains(system.Logs.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("Roles:Compliance lists compliance@exchange.example", StringComparison.Ordinal));
        using var officer = await system.NewTraderAsync("Olivia Officer", StaffFixture.Officer);
        var officerMe = (await officer.Http.GetFromJsonAsync<JsonObject>("/api/me"))!;
        Assert.Equal(["trader", "compliance"], officerMe["roles"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.OK, (await officer.Http.GetAsync("/api/audit")).StatusCode);
    }

    [Fact]
    public async Task Roles_an_email_granted_are_revoked_at_start_up_and_audited_as_granted_by_unverified_email()
    {
        // Stored as an email grant left them: the members exist, their roles are rows in member_roles.
        using var byEmail = await system.NewTraderAsync("Eve Emailed", email: StaffFixture.OperatorEmail);
        using var unlisted = await system.NewTraderAsync("Uma Unlisted");
        using var officer = await system.NewTraderAsync("Olivia Officer", StaffFixture.Officer);
        var (emailed, other) = await system.InScopeAsync(async (db, _) =>
        {
            var emailedId = await db.Members.Where(m => m.Subject == byEmail.Subject).Select(m => m.Id).SingleAsync();
            var otherId = await db.Members.Where(m => m.Subject == unlisted.Subject).Select(m => m.Id).SingleAsync();
            db.MemberRoles.Add(new MemberRole { MemberId = emailedId, Role = "operator", GrantedAt = system.Clock.GetUtcNow(), Source = RoleGrants.Source });
            db.MemberRoles.Add(new MemberRole { MemberId = otherId, Role = "compliance", GrantedAt = system.Clock.GetUtcNow(), Source = RoleGrants.Source });
            await db.SaveChangesAsync();
            return (emailedId, otherId);
        });

        // A start-up on this database: the host applies the configured roles while it is built.
        var settings = system.ExchangeSettings();
        settings["Urls"] = $"http://127.0.0.1:{FreePort.Next()}";
        settings["Exchange:RunJobs"] = "false";
        settings["Exchange:MigrateOnStartup"] = "false";
        await using (var restarted = await Task.Run(() => ExchangeApp.Build(["--environment", "Development"], builder =>
        {
            builder.Configuration.Sources.Clear();
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
        })))
        {
        }

        Assert.Equal(0, await system.InScopeAsync((db, _) => db.MemberRoles.CountAsync(r => r.MemberId == emailed || r.MemberId == other)));
        var revoked = await system.InScopeAsync((db, _) => db.AuditEvents.AsNoTracking()
            .Where(a => a.Action == "role.revoked" && (a.Subject == $"member:{emailed}" || a.Subject == $"member:{other}"))
            .Select(a => new { a.Subject, a.Actor, a.Data }).ToListAsync());
        Assert.Equal(2, revoked.Count);
        var byEmailEvent = JsonNode.Parse(revoked.Single(r => r.Subject == $"member:{emailed}").Data)!;
        Assert.Equal("operator", byEmailEvent["role"]!.GetValue<string>());
        Assert.Equal("granted by unverified email", byEmailEvent["reason"]!.GetValue<string>());
        var otherEvent = JsonNode.Parse(revoked.Single(r => r.Subject == $"member:{other}").Data)!;
        Assert.Equal("compliance", otherEvent["role"]!.GetValue<string>());
        Assert.Equal("no longer granted by configuration", otherEvent["reason"]!.GetValue<string>());
        Assert.All(revoked, r => Assert.Equal("system", r.Actor));

        // The subject configured beside the emails keeps its role through the same start-up.
        Assert.True(await system.InScopeAsync((db, _) => db.MemberRoles.AnyAsync(r => r.Role == "compliance" && db.Members.Any(m => m.Id == r.MemberId && m.Subject == StaffFixture.Officer))));
    }
}

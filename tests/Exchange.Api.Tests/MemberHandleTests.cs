using System.Text.Json.Nodes;
using Exchange.Api.Features.Account;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Tests.Support;
using Exchange.Domain.Members;
using Exchange.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Exchange.Api.Tests;

/// <summary>
/// Every member gets an account handle the exchange draws (what transfers address), and a name VivoKey
/// passes on is stored and shown without control or bidirectional characters.
/// </summary>
public sealed class MemberHandleTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    private const string HandlePattern = "^EX-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$";

    [Fact]
    public async Task Each_member_gets_a_distinct_handle_at_first_sign_in_shown_by_me_and_session_and_kept_at_the_next()
    {
        using var ada = await system.NewTraderAsync();
        using var bob = await system.NewTraderAsync();

        Assert.Matches(HandlePattern, ada.Handle);
        Assert.Matches(HandlePattern, bob.Handle);
        Assert.NotEqual(ada.Handle, bob.Handle);
        var session = (await ada.Http.GetFromJsonAsync<JsonObject>("/api/session"))!;
        Assert.Equal(ada.Handle, session["member"]!["handle"]!.GetValue<string>());
        Assert.Equal(ada.Handle, await system.InScopeAsync((db, _) => db.Members.Where(m => m.Subject == ada.Subject).Select(m => m.Handle).SingleAsync()));

        var first = ada.Handle;
        await ada.SignInAsync();
        Assert.Equal(first, ada.Handle);
    }

    [Fact]
    public async Task A_name_with_a_right_to_left_override_is_stored_and_shown_without_it()
    {
        using var trader = await system.NewTraderAsync("Eve \u202Egnp.exe\u2066 \u200Fx\u0007");

        var me = (await trader.Http.GetFromJsonAsync<JsonObject>("/api/me"))!;
        var session = (await trader.Http.GetFromJsonAsync<JsonObject>("/api/session"))!;
        var stored = await system.InScopeAsync((db, _) => db.Members.Where(m => m.Subject == trader.Subject).Select(m => m.Name).SingleAsync());

        Assert.Equal("Eve gnp.exe x", me["name"]!.GetValue<string>());
        Assert.Equal("Eve gnp.exe x", session["member"]!["name"]!.GetValue<string>());
        Assert.Equal("Eve gnp.exe x", stored);
    }

    [Fact]
    public async Task A_drawn_handle_another_member_holds_is_drawn_again()
    {
        using var holder = await system.NewTraderAsync();
        var fresh = AccountHandle.New();
        var draws = new Queue<string>([holder.Handle, fresh]);
        var subject = "vk-" + Guid.NewGuid().ToString("N")[..12];

        var member = await system.InScopeAsync((db, _) =>
            MemberRecords.RecordSignInAsync(db, subject, "New Member", "new@example.test", system.Clock.GetUtcNow(), draws.Dequeue, CancellationToken.None));

        Assert.Equal(fresh, member.Handle);
        Assert.Empty(draws);
        Assert.Equal(holder.Subject, await system.InScopeAsync((db, _) => db.Members.Where(m => m.Handle == holder.Handle).Select(m => m.Subject).SingleAsync()));
    }

    [Fact]
    public async Task The_migration_gives_every_existing_member_a_distinct_handle_and_cleans_the_names()
    {
        var connectionString = await (await PostgresServer.Shared).CreateDatabaseAsync("handles");
        await using var db = new ExchangeDbContext(new DbContextOptionsBuilder<ExchangeDbContext>()
            .UseNpgsql(connectionString, npgsql => npgsql.MigrationsAssembly(ExchangeDbContext.MigrationsAssembly))
            .UseSnakeCaseNamingConvention()
            .Options);
        var migrator = db.GetService<IMigrator>();
        await migrator.MigrateAsync("ReconcilerIndexes");
        for (var i = 0; i < 50; i++)
        {
            var name = i == 0 ? "Mallory \u202Etxt.exe\u2069\n" : $"Member {i}";
            await db.Database.ExecuteSqlAsync(
                $"INSERT INTO members (id, subject, name, email, created_at, last_sign_in_at) VALUES ({Guid.NewGuid()}, {"vk-old-" + i}, {name}, {"old@example.test"}, now(), now())");
        }

        await migrator.MigrateAsync("MemberHandles");

        var members = await db.Members.AsNoTracking().ToListAsync();
        Assert.Equal(50, members.Count);
        Assert.All(members, m => Assert.Matches(HandlePattern, m.Handle));
        Assert.Equal(50, members.Select(m => m.Handle).Distinct().Count());
        Assert.Equal("Mallory txt.exe", members.Single(m => m.Subject == "vk-old-0").Name);
        Assert.Equal("Member 7", members.Single(m => m.Subject == "vk-old-7").Name);
    }
}

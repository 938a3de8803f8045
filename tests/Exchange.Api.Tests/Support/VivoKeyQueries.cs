using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Tests.Support;

/// <summary>The member's tokens as the exchange holds them: the generation counts sign-ins and refreshes.</summary>
public sealed record StoredTokens(int Generation, bool Unusable, bool HasRefreshToken, DateTimeOffset ExpiresAt);

/// <summary>What the VivoKey behaviour tests read back: the simulator's challenges and the exchange's token row.</summary>
public static class VivoKeyQueries
{
    public static async Task<List<JsonObject>> PendingChallengesAsync(this ExchangeFixture system, string subject) =>
        (await system.Simulator.GetFromJsonAsync<JsonArray>($"/simulator/challenges?member={subject}&status=pending"))!
            .Select(c => c!.AsObject()).ToList();

    /// <summary>Until the simulator holds a pending challenge for the member whose vivo_id is none of <paramref name="known"/>.</summary>
    public static async Task<JsonObject> NewPendingChallengeAsync(this ExchangeFixture system, string subject, params string[] known)
    {
        var pending = await Poll.UntilAsync(() => system.PendingChallengesAsync(subject),
            list => list.Any(c => !known.Contains(VivoId(c))), $"a new pending challenge for {subject}");
        return pending.First(c => !known.Contains(VivoId(c)));
    }

    public static string VivoId(JsonObject challenge) => challenge["vivo_id"]!.GetValue<string>();

    public static string Id(JsonObject challenge) => challenge["id"]!.GetValue<string>();

    public static Task<StoredTokens> StoredTokensAsync(this ExchangeFixture system, string subject) =>
        system.InScopeAsync((db, _) => db.Members.Where(m => m.Subject == subject)
            .Join(db.MemberTokens, m => m.Id, t => t.MemberId, (m, t) => new StoredTokens(t.Generation, t.Unusable, t.ProtectedRefreshToken != null, t.AccessTokenExpiresAt))
            .SingleAsync());

    /// <summary>The exchange believes the member's access token ends <paramref name="seconds"/> from now (as if time had passed).</summary>
    public static Task ShortenStoredTokenAsync(this ExchangeFixture system, string subject, double seconds) =>
        system.InScopeAsync(async (db, _) =>
        {
            var until = system.Clock.GetUtcNow().AddSeconds(seconds);
            return await db.MemberTokens.Where(t => db.Members.Any(m => m.Id == t.MemberId && m.Subject == subject))
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.AccessTokenExpiresAt, until));
        });

    /// <summary>A simulator control that must succeed (expire-tokens, revoke-tokens, behaviours).</summary>
    public static async Task SimulatorAsync(this ExchangeFixture system, string path, object? body = null)
    {
        using var response = body is null ? await system.Simulator.PostAsync(path, null) : await system.Simulator.PutAsJsonAsync(path, body);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>What the exchange answered VivoKey's callbacks for this vivo_id, as the simulator recorded it.</summary>
    public static async Task<List<int?>> CallbackAnswersAsync(this ExchangeFixture system, string vivoId, int count)
    {
        var records = (await system.Simulator.GetFromJsonAsync<JsonArray>($"/simulator/callbacks?vivo_id={vivoId}&min={count}&wait_seconds=20"))!;
        return records.Select(r => r!["status_code"]?.GetValue<int?>()).ToList();
    }

    /// <summary>The data of the audit events of this action the subject has, oldest first.</summary>
    public static Task<List<string>> AuditDataAsync(this ExchangeFixture system, string subject, string action) =>
        system.InScopeAsync((db, _) => db.AuditEvents.Where(a => a.Subject == subject && a.Action == action).OrderBy(a => a.Seq)
            .Select(a => a.Data).ToListAsync());
}

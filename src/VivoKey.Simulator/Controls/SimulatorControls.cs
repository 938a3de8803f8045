using Microsoft.AspNetCore.Mvc;
using VivoKey.Simulator.Identity;
using VivoKey.Simulator.Infrastructure;
using VivoKey.Simulator.Validation;

namespace VivoKey.Simulator.Controls;

/// <summary>The controls tests and demos use: challenges, callbacks, members, tokens, faults, behaviours, the clock.</summary>
public static class SimulatorControls
{
    public sealed record ChallengeView(
        string VivoId, string Id, string ClientId, string Member, string Message, string Callback,
        DateTimeOffset CreatedAt, DateTimeOffset Deadline, string Status, DateTimeOffset? EndedAt);

    public sealed record NewMember(string? Subject, string? Name, string? Email);

    public sealed record ClockAdvance(double Seconds);

    public sealed record AutoTapSetting(bool Challenges);

    public static void Map(IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/simulator");

        group.MapGet("/challenges", (string? member, string? status, string? id, ChallengeStore store) =>
            store.All
                .Where(c => member is null || c.Member == member)
                .Where(c => status is null || StatusName(c.Status) == status)
                .Where(c => id is null || c.Id == id)
                .Select(View));

        group.MapGet("/challenges/{vivoId}", (string vivoId, ChallengeStore store) =>
            store.Find(vivoId) is { } c ? Results.Ok(View(c)) : NotFound("No challenge has that vivo_id."));

        group.MapPost("/challenges/{vivoId}/tap", (string vivoId, MemberActions actions, HttpContext http) =>
            ActAsync(vivoId, MemberAction.Tap, actions, http));
        group.MapPost("/challenges/{vivoId}/decline", (string vivoId, MemberActions actions, HttpContext http) =>
            ActAsync(vivoId, MemberAction.Decline, actions, http));

        // With min and wait_seconds, waits (up to 30 s) until that many records match: tests wait on a condition, not a sleep.
        group.MapGet("/callbacks", async (
            [FromQuery(Name = "vivo_id")] string? vivoId,
            string? id,
            int? min,
            [FromQuery(Name = "wait_seconds")] double? waitSeconds,
            CallbackDispatcher dispatcher,
            CancellationToken ct) =>
        {
            bool Match(CallbackRecord r) => (vivoId is null || r.VivoId == vivoId) && (id is null || r.Id == id);
            var wait = TimeSpan.FromSeconds(Math.Clamp(waitSeconds ?? 0, 0, 30));
            return await dispatcher.WaitForAsync(Match, min ?? 0, wait, ct);
        });

        group.MapGet("/members", (MemberDirectory members) => members.All);
        group.MapPost("/members", (NewMember body, MemberDirectory members) =>
        {
            if (string.IsNullOrWhiteSpace(body.Name) || string.IsNullOrWhiteSpace(body.Email) || !body.Email.Contains('@', StringComparison.Ordinal))
            {
                return Results.Problem(statusCode: 400, title: "A member needs a name and an email address.");
            }

            var member = new Member(string.IsNullOrWhiteSpace(body.Subject) ? Guid.NewGuid().ToString("N") : body.Subject.Trim(), body.Name.Trim(), body.Email.Trim());
            return members.Add(member)
                ? Results.Created($"/simulator/members/{Uri.EscapeDataString(member.Subject)}", member)
                : Results.Problem(statusCode: 409, title: "A member with that subject already exists.");
        });

        MemberTokenControls.Map(group);
        BehaviourControls.Map(group);

        group.MapGet("/faults", (FaultRules faults) => new { run = faults.RunPlan, rules = faults.Rules });
        group.MapPut("/faults/run", (FaultPlan plan, FaultRules faults) =>
        {
            faults.RunPlan = plan;
            return Results.Ok(plan);
        });
        group.MapPost("/faults", (FaultRule rule, FaultRules faults) =>
        {
            if (rule.Remaining is <= 0)
            {
                return Results.Problem(statusCode: 400, title: "remaining must be at least 1, or absent for every challenge.");
            }

            faults.Add(rule);
            return Results.Ok(rule);
        });
        group.MapDelete("/faults", (FaultRules faults) =>
        {
            faults.Clear();
            return Results.NoContent();
        });

        group.MapGet("/auto-tap", (ChallengeAutoTap autoTap) => new AutoTapSetting(autoTap.Enabled));
        group.MapPut("/auto-tap", (AutoTapSetting body, ChallengeAutoTap autoTap) =>
        {
            autoTap.Enabled = body.Challenges;
            return Results.Ok(new AutoTapSetting(autoTap.Enabled));
        });

        group.MapGet("/clock", (SimulatorClock clock) => new { now = clock.GetUtcNow(), offset_seconds = clock.Offset.TotalSeconds });
        group.MapPost("/clock/advance", (ClockAdvance body, SimulatorClock clock) =>
        {
            if (body.Seconds <= 0 || body.Seconds > 10 * 365 * 86400)
            {
                return Results.Problem(statusCode: 400, title: "seconds must be positive: the clock only moves forward.");
            }

            clock.Advance(TimeSpan.FromSeconds(body.Seconds));
            return Results.Ok(new { now = clock.GetUtcNow(), offset_seconds = clock.Offset.TotalSeconds });
        });
    }

    private static async Task<IResult> ActAsync(string vivoId, MemberAction action, MemberActions actions, HttpContext http)
    {
        var (outcome, challenge) = await actions.ActAsync(vivoId, action, http.RequestAborted);
        return outcome switch
        {
            ActionOutcome.NotFound => NotFound("No challenge has that vivo_id."),
            ActionOutcome.AlreadyEnded => Results.Problem(statusCode: 409, title: "The challenge has already ended.", extensions: new Dictionary<string, object?> { ["challenge"] = View(challenge!) }),
            _ => Results.Ok(View(challenge!)),
        };
    }

    private static IResult NotFound(string title) => Results.Problem(statusCode: 404, title: title);

    public static string StatusName(ChallengeStatus status) => status switch
    {
        ChallengeStatus.Pending => "pending",
        ChallengeStatus.Success => "success",
        ChallengeStatus.Declined => "declined",
        ChallengeStatus.Timeout => "timeout",
        ChallengeStatus.TokenExpired => "token_expired",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    private static ChallengeView View(Challenge c) =>
        new(c.VivoId, c.Id, c.ClientId, c.Member, c.Message, c.Callback, c.CreatedAt, c.Deadline, StatusName(c.Status), c.EndedAt);
}

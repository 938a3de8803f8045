using System.Net;
using Exchange.Api.Tests.Support;
using Exchange.Api.Infrastructure.Persistence;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Exchange.Api.Tests;

/// <summary>The system, with the exchange's log lines kept in memory as well.</summary>
public sealed class ObservabilityFixture : ExchangeFixture
{
    public CapturedLogs Logs { get; } = new();

    protected override void ConfigureHost(WebApplicationBuilder builder) => builder.Logging.AddProvider(Logs);
}

/// <summary>
/// What an operator watches: /metrics moves with the work, and every log line names the withdrawal it is
/// about. The exchange's meter is process-wide and other classes run beside this one, so its counters are asked
/// to rise, not to rise by exactly one. ASP.NET Core's request metrics come from a meter each host creates:
/// with many hosts in one test process, which host's provider reports them is not this test's to know, so
/// MetricsOnEveryInstanceTests checks them, exactly, one process per instance.
/// </summary>
public sealed class ObservabilityTests(ObservabilityFixture system) : IClassFixture<ObservabilityFixture>
{
    [Fact]
    public async Task The_metrics_endpoint_shows_the_counters_moving_during_a_withdrawal()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var before = await Scrape.FromAsync(system.ManagementUrl);

        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var challenge = await system.PendingChallengeAsync(trader.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));
        await trader.WaitForWithdrawalAsync(id, "confirmed");

        // Counted at each commit; the scrape answer is cached for a moment, so ask until it shows all of them.
        string[] counters =
        [
            "exchange_requests_accepted_total kind=withdrawal",
            "exchange_challenges_ended_total kind=withdrawal outcome=success",
            "exchange_tap_to_broadcast_duration_seconds_count",
            "exchange_withdrawals_confirmed_total",
        ];
        double Of(Scrape scrape, string counter) => scrape.Sum(counter.Split(' ')[0], counter.Split(' ')[1..]);
        var after = await Poll.UntilAsync(
            () => Scrape.FromAsync(system.ManagementUrl),
            scrape => counters.All(c => Of(scrape, c) > Of(before, c)),
            "every counter of the withdrawal to rise at /metrics");

        // The time from the tap to the broadcast is a real duration: more than nothing, less than the test took.
        Assert.InRange(after.Sum("exchange_tap_to_broadcast_duration_seconds_sum"), 0.0001, 60 * after.Sum("exchange_tap_to_broadcast_duration_seconds_count"));
        Assert.Contains("# TYPE exchange_tap_to_broadcast_duration_seconds histogram", after.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Log_lines_of_a_withdrawal_name_it_in_their_scope_in_requests_and_in_background_jobs()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("10");
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var challenge = await system.PendingChallengeAsync(trader.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));
        await trader.WaitForWithdrawalAsync(id, "confirmed");

        bool Names(CapturedLog line) => line.Scopes.TryGetValue("WithdrawalId", out var value) && Equals(value, id);
        var lines = await Poll.UntilAsync(
            () => Task.FromResult(system.Logs.Lines),
            all => all.Any(l => Names(l) && l.Message.StartsWith("Confirmed", StringComparison.Ordinal)),
            "the confirmation to be logged");

        // The callback, served as an HTTP request: its line carries the request's id and trace id, and the withdrawal's.
        var callback = Assert.Single(lines, l => l.Category.EndsWith("ApplyVivoKeyCallback.Handler", StringComparison.Ordinal) && Names(l));
        Assert.Contains("success", callback.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(callback.Scopes["RequestId"] as string));
        Assert.False(string.IsNullOrEmpty(callback.Scopes["TraceId"]?.ToString()));
        Assert.Equal("/vivokey/callback", callback.Scopes["RequestPath"]);

        // The step that broadcast and the one that confirmed: the withdrawal's scope, and no request's.
        foreach (var (step, message) in new[] { ("Withdrawals.Broadcast", "Broadcast"), ("Withdrawals.FollowReceipts", "Confirmed") })
        {
            var job = Assert.Single(lines, l => l.Category.EndsWith(step, StringComparison.Ordinal) && Names(l) && l.Message.StartsWith(message, StringComparison.Ordinal));
            Assert.False(job.Scopes.ContainsKey("RequestId"), $"{message} was logged in a request's scope: {string.Join(", ", job.Scopes)}");
        }
    }

    [Fact]
    public async Task Work_waiting_for_a_commit_runs_once_after_it_and_never_after_a_rollback_or_a_retried_attempt()
    {
        var ran = await system.InScopeAsync(async (db, _) =>
        {
            var ran = new List<string>();
            await using (var rolledBack = await db.Database.BeginTransactionAsync())
            {
                db.WhenCommitted(() => ran.Add("rolled back"));
                await rolledBack.RollbackAsync();
            }

            await using (var committed = await db.Database.BeginTransactionAsync())
            {
                db.WhenCommitted(() => ran.Add("committed"));
                Assert.Empty(ran);
                await committed.CommitAsync();
            }

            // The unit of work retries a transaction another writer got in first: the first attempt's work goes with it.
            var attempts = 0;
            await db.InTransactionAsync(() =>
            {
                var attempt = ++attempts;
                db.WhenCommitted(() => ran.Add($"attempt {attempt}"));
                return attempt == 1 ? throw new DbUpdateConcurrencyException("another writer") : Task.CompletedTask;
            }, CancellationToken.None);

            // No transaction of ours: committed by the save itself.
            db.WhenCommitted(() => ran.Add("saved"));
            await db.SaveChangesAsync();
            return ran;
        });

        Assert.Equal(["committed", "attempt 2", "saved"], ran);
    }
}

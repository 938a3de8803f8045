using System.Net;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Npgsql;
using Xunit.Abstractions;

namespace Exchange.Api.Tests;

/// <summary>The system without an in-process exchange: each test runs the exchange as OS processes of its own.</summary>
public sealed class ProcessFixture : ExchangeFixture
{
    protected override bool StartsExchangeInProcess => false;

    protected override void Configure(IDictionary<string, string?> exchange)
    {
        // The reconciler takes up anything at once: the tests run its passes themselves, from the command line.
        exchange["Reconciler:StuckAfterSeconds"] = "0";
        exchange["Reconciler:GraceSeconds"] = "600";
        // A restart on a loaded machine can take a minute: the challenge must outlive it, or the request fails unsent.
        exchange["VivoKey:ChallengeTimeoutSeconds"] = "300";
    }
}

/// <summary>
/// kill -9 at each step boundary of a withdrawal (ARCHITECTURE.md's invariants 2–5): the process is
/// killed by its own crash hook at the boundary, started again on the same database, and the
/// withdrawal still ends confirmed, once, with every invariant held and the chain agreeing.
/// </summary>
[Collection(ProcessesCollection.Name)]
public sealed class CrashSafetyTests(ProcessFixture system, ITestOutputHelper output) : IClassFixture<ProcessFixture>
{
    private static readonly System.Numerics.BigInteger Ether = System.Numerics.BigInteger.Pow(10, 18);

    [Theory]
    [InlineData("after-hold")]
    [InlineData("after-challenge-post")]
    [InlineData("after-callback")]
    [InlineData("after-sign")]
    [InlineData("after-broadcast")]
    public async Task Killed_at_a_step_boundary_a_withdrawal_still_ends_confirmed_once(string point)
    {
        var settings = system.ExchangeSettings();
        settings["Exchange:CrashAt"] = point;
        settings["Exchange:CrashMarker"] = Path.Combine(Path.GetTempPath(), $"exchange-crash-{Guid.NewGuid():N}");
        var to = ExchangeFixture.NewAddress();
        var (trader, first) = await StartAndSignInAsync(settings);
        using var _ = trader;
        await using (first)
        {
            await trader.CreditAsync("5");
            // The request itself may be what dies (after-hold): its answer is not needed, the database tells.
            var request = trader.WithdrawAsync("1", to);
            // Only the points past the tap need one before the crash; before them, a tap would reach a dead
            // exchange, and a callback VivoKey could not deliver is lost for good (the request then expires).
            var tapFirst = point is "after-callback" or "after-sign" or "after-broadcast";
            var tapped = new HashSet<string>();
            await Poll.UntilAsync(async () =>
            {
                if (tapFirst)
                {
                    await TapPendingAsync(trader.Subject, tapped);
                }

                return first.HasExited;
            }, exited => exited, $"the exchange to die at {point}", 60);
            Assert.Equal(ExchangeProcess.KilledExitCode, first.ExitCode);
            Assert.Contains($"Crash point {point}", first.Output, StringComparison.Ordinal);
            await Task.WhenAny(request);
        }

        // Started again on the same database and chain; reconciler passes run from the command line.
        await using var second = ExchangeProcess.Start(settings);
        await second.WaitUntilLiveAsync(system.ExchangeUrl);
        var tappedAfter = new HashSet<string>();
        string? status;
        try
        {
            status = await Poll.UntilAsync(async () =>
            {
                await TapPendingAsync(trader.Subject, tappedAfter);
                await ReconcileNowAndThenAsync(settings);
                return await WithdrawalStatusAsync(trader.Subject);
            }, s => s == "confirmed", $"the withdrawal to be confirmed after the crash at {point}", 90);
        }
        catch (TimeoutException timeout)
        {
            var challenges = await system.Simulator.GetStringAsync($"/simulator/challenges?member={trader.Subject}");
            throw new TimeoutException($"{timeout.Message}\nVivoKey's challenges: {challenges}\nThe restarted exchange said:\n{second.Output}", timeout);
        }

        Assert.Equal("confirmed", status);

        // Once: the destination got exactly the amount, and one transaction of ours exists for it.
        Assert.Equal(Ether, await system.Anvil.GetBalanceAsync(to));
        Assert.Equal(1L, await ScalarAsync<long>(
            $"SELECT count(DISTINCT t.nonce) FROM withdrawal_transactions t JOIN withdrawals w ON w.id = t.withdrawal_id JOIN members m ON m.id = w.member_id WHERE m.subject = '{trader.Subject}'"));
        Assert.Equal(("4", "0"), await trader.BalanceAsync());
        await AssertInvariantsHoldAsync(settings);
    }

    [Fact]
    public async Task A_reconciler_pass_killed_midway_leaves_nothing_stuck_and_the_next_pass_finishes()
    {
        var settings = system.ExchangeSettings();
        var (trader, server) = await StartAndSignInAsync(settings);
        using var _ = trader;
        await using (server)
        {
            await trader.CreditAsync("3");
        }

        // A withdrawal whose send was never enqueued: the exchange died right after its transaction.
        var crashed = new Dictionary<string, string?>(settings)
        {
            ["Exchange:CrashAt"] = "after-hold",
            ["Exchange:CrashMarker"] = Path.Combine(Path.GetTempPath(), $"exchange-crash-{Guid.NewGuid():N}"),
        };
        await using (var dying = ExchangeProcess.Start(crashed))
        {
            await dying.WaitUntilLiveAsync(system.ExchangeUrl);
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => trader.WithdrawAsync("1", ExchangeFixture.NewAddress()));
            Assert.Equal(ExchangeProcess.KilledExitCode, await dying.WaitForExitAsync());
        }

        var a = await ScalarAsync<Guid>($"SELECT w.id FROM withdrawals w JOIN members m ON m.id = w.member_id WHERE m.subject = '{trader.Subject}'");
        await using (var restarted = ExchangeProcess.Start(settings))
        {
            await restarted.WaitUntilLiveAsync(system.ExchangeUrl);

            // A reconciler pass in its own process, killed after it enqueued part of its work.
            var crashing = new Dictionary<string, string?>(settings)
            {
                ["Exchange:CrashAt"] = "mid-reconcile",
                ["Exchange:CrashMarker"] = Path.Combine(Path.GetTempPath(), $"exchange-crash-{Guid.NewGuid():N}"),
            };
            await using (var pass = ExchangeProcess.Start(crashing, "reconcile"))
            {
                Assert.Equal(ExchangeProcess.KilledExitCode, await pass.WaitForExitAsync());
            }

            // The next pass is not held up by the dead one (its lock died with its connection) and finishes the work.
            var tapped = new HashSet<string>();
            await Poll.UntilAsync(async () =>
            {
                await TapPendingAsync(trader.Subject, tapped);
                await ReconcileNowAndThenAsync(settings);
                return await ScalarAsync<long>($"SELECT count(*) FROM withdrawals WHERE id = '{a}' AND status = 'confirmed'");
            }, n => n == 1, "the withdrawal to be confirmed", 90);
            Assert.Equal(("2", "0"), await trader.BalanceAsync());
            await AssertInvariantsHoldAsync(settings);
        }
    }

    private async Task<(Trader Trader, ExchangeProcess Process)> StartAndSignInAsync(Dictionary<string, string?> settings)
    {
        var process = ExchangeProcess.Start(settings);
        await process.WaitUntilLiveAsync(system.ExchangeUrl);
        return (await system.NewTraderAsync(), process);
    }

    private async Task TapPendingAsync(string subject, HashSet<string> tapped)
    {
        var pending = (await system.Simulator.GetFromJsonAsync<JsonArray>($"/simulator/challenges?member={subject}&status=pending"))!;
        foreach (var challenge in pending)
        {
            var vivoId = challenge!["vivo_id"]!.GetValue<string>();
            if (tapped.Add(vivoId))
            {
                // The exchange may die while VivoKey calls back: the tap itself still counts at VivoKey.
                await system.TapAsync(vivoId);
            }
        }
    }

    /// <summary>When the last pass was started (a new instance of the class for each test).</summary>
    private long _lastPass;

    /// <summary>
    /// A pass, unless one started less than 3 s ago: each pass is a process start, and run back to back while a test
    /// waits they would take the CPU the restarted exchange needs to do the work they wait for.
    /// </summary>
    private async Task ReconcileNowAndThenAsync(Dictionary<string, string?> settings)
    {
        if (_lastPass != 0 && System.Diagnostics.Stopwatch.GetElapsedTime(_lastPass) < TimeSpan.FromSeconds(3))
        {
            return;
        }

        _lastPass = System.Diagnostics.Stopwatch.GetTimestamp();
        await ReconcileAsync(settings);
    }

    private async Task ReconcileAsync(Dictionary<string, string?> settings)
    {
        await using var pass = ExchangeProcess.Start(settings, "reconcile");
        var exit = await pass.WaitForExitAsync();
        Assert.True(exit == 0, pass.Output);
    }

    private async Task AssertInvariantsHoldAsync(Dictionary<string, string?> settings)
    {
        await using var check = ExchangeProcess.Start(settings, "check-invariants");
        var exit = await check.WaitForExitAsync();
        output.WriteLine(check.Output);
        Assert.True(exit == 0, check.Output);
        Assert.Contains("All invariants hold.", check.Output, StringComparison.Ordinal);
    }

    private Task<string?> WithdrawalStatusAsync(string subject) => ScalarAsync<string?>(
        $"SELECT w.status FROM withdrawals w JOIN members m ON m.id = w.member_id WHERE m.subject = '{subject}'");

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default! : (T)value;
    }
}

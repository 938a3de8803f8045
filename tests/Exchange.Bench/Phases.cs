using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Exchange.Api;
using Exchange.Api.Features.Operations;
using Exchange.Api.Infrastructure.Jobs;
using Nethereum.Hex.HexConvertors.Extensions;
using Nethereum.Model;
using Nethereum.Signer;
using Npgsql;

namespace Exchange.Bench;

/// <summary>The bench's measurements, in the order Program runs them.</summary>
public sealed partial class Phases(BenchSystem system, BenchSettings settings, BenchResults results)
{
    private const string Amount = "0.000001";
    private const string SyntheticMessage = "bench: synthetic pending";

    private readonly List<Trader> _traders = [];
    private WebApplication? _tool;

    public async Task SignInTradersAsync()
    {
        var count = settings.Concurrency.Max();
        Console.WriteLine($"Signing in {count} traders through the simulator and crediting each...");
        var subjects = Enumerable.Range(1, count).Select(i => $"vk-bench-{i:D3}").ToList();
        using var gate = new SemaphoreSlim(8);
        var traders = await Task.WhenAll(subjects.Select(async subject =>
        {
            await gate.WaitAsync();
            try
            {
                return await Trader.CreateAsync(system, subject);
            }
            finally
            {
                gate.Release();
            }
        }));
        _traders.AddRange(traders);
        await system.ExecuteAsync("""
            CREATE TABLE bench_members AS SELECT row_number() OVER (ORDER BY id)::int AS n, id AS member_id FROM members;
            ALTER TABLE bench_members ADD PRIMARY KEY (n);
            """);
    }

    // ---- 1. Intake ---------------------------------------------------------------------------------

    public async Task IntakeAsync()
    {
        foreach (var clients in settings.Concurrency)
        {
            var level = await IntakeLevelAsync(clients, TimeSpan.FromSeconds(settings.IntakeSeconds));
            results.Intake.Add(level);
            Console.WriteLine($"  intake, {clients,3} clients: {level.Accepted} accepted, {level.AcceptedBySimulatorPerSecond:F0}/s to VivoKey's acceptance ({level.HttpPerSecond:F0}/s HTTP 202), p50 {level.RequestLatency.P50:F1} ms, p99 {level.RequestLatency.P99:F1} ms");
        }
    }

    private async Task<IntakeLevel> IntakeLevelAsync(int clients, TimeSpan duration)
    {
        var latencies = new ConcurrentBag<double>();
        int accepted = 0, refused = 0;
        await using var sampler = WaitSampler.Start(system);
        var start = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(_traders.Take(clients).Select(async trader =>
        {
            while (clock.Elapsed < duration)
            {
                var began = clock.Elapsed;
                var (status, _, error) = await trader.WithdrawAsync(Amount);
                latencies.Add((clock.Elapsed - began).TotalMilliseconds);
                if (status == 202)
                {
                    Interlocked.Increment(ref accepted);
                }
                else
                {
                    Interlocked.Increment(ref refused);
                    results.CountAnswer(status, error);
                }
            }
        }));
        var httpSeconds = clock.Elapsed.TotalSeconds;

        // Accepted means VivoKey took the challenge: wait until none is still being sent.
        await AllChallengesAcceptedAsync();
        var lastAccepted = await system.ScalarAsync<DateTime>(
            "SELECT max(at) FROM audit_events WHERE action = 'challenge.accepted' AND at >= @start", ("start", start.UtcDateTime));
        var seconds = (new DateTimeOffset(lastAccepted, TimeSpan.Zero) - start).TotalSeconds;
        results.Profiles[$"intake {clients}"] = await sampler.StopAsync();
        Console.WriteLine($"    database backends during it: {results.Profiles[$"intake {clients}"]}");
        return new IntakeLevel(clients, accepted, refused, Math.Round(seconds, 3), Math.Round(accepted / httpSeconds, 1),
            Math.Round(accepted / Math.Max(seconds, httpSeconds), 1), Latency.Of(latencies));
    }

    // ---- 5. pgbench on the same statements -------------------------------------------------------------

    public async Task PgBenchCeilingAsync()
    {
        var pgbench = system.Postgres.BinDirectory is { } bin && File.Exists(Path.Combine(bin, "pgbench")) ? Path.Combine(bin, "pgbench") : "pgbench";
        var script = Path.Combine(AppContext.BaseDirectory, "intake.pgbench.sql");
        var connection = new NpgsqlConnectionStringBuilder(system.OwnerConnectionString);
        foreach (var clients in settings.Concurrency)
        {
            var arguments = new List<string>
            {
                "-n", "-h", connection.Host!, "-p", connection.Port.ToString(CultureInfo.InvariantCulture), "-U", connection.Username!, "-d", connection.Database!,
                "-M", "extended", "-f", script, "-D", $"members={_traders.Count}",
                "-c", clients.ToString(CultureInfo.InvariantCulture), "-j", Math.Min(clients, Environment.ProcessorCount).ToString(CultureInfo.InvariantCulture),
                "-T", settings.IntakeSeconds.ToString(CultureInfo.InvariantCulture),
            };
            var output = await RunAsync(pgbench, arguments);
            var match = Tps().Match(output);
            if (!match.Success)
            {
                results.Failures.Add($"pgbench with {clients} clients printed no tps:\n{output}");
                continue;
            }

            var tps = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            results.PgBench.Add(new CeilingLevel(clients, Math.Round(tps, 1), $"pgbench {string.Join(' ', arguments.Where(a => !a.Contains('/', StringComparison.Ordinal)))} -f intake.pgbench.sql"));
            Console.WriteLine($"  pgbench ceiling, {clients,3} clients: {tps:F0} intakes/s");
        }
    }

    // ---- 2. Tap to broadcast ------------------------------------------------------------------------

    public async Task TapToBroadcastAsync()
    {
        // First at a rate this machine sustains with room to spare, to show the path itself; then at the rate asked for.
        await EnsurePendingAsync((settings.TapLowRate + settings.TapRate) * settings.TapSeconds);
        await TapToBroadcastAsync(settings.TapLowRate, lowRate: true);
        await TapToBroadcastAsync(settings.TapRate, lowRate: false);
    }

    /// <summary>Enough challenges waiting for a tap, whatever the intake made on a slow machine: more withdrawals until there are.</summary>
    private async Task EnsurePendingAsync(int needed)
    {
        const string pending = "SELECT count(*) FROM challenges WHERE state = 'Accepted' AND request_kind = 'withdrawal' AND vivo_id NOT LIKE 'pgbench:%'";
        var missing = needed - (int)await system.ScalarAsync<long>(pending);
        if (missing <= 0)
        {
            return;
        }

        Console.WriteLine($"Asking for {missing} more withdrawals, so there are {needed} challenges to tap...");
        var next = -1;
        await Task.WhenAll(_traders.Take(settings.EndToEndConcurrency).Select(async trader =>
        {
            while (Interlocked.Increment(ref next) < missing)
            {
                var (status, _, error) = await trader.WithdrawAsync(Amount);
                if (status != 202)
                {
                    results.CountAnswer(status, error);
                }
            }
        }));
        await AllChallengesAcceptedAsync();
    }

    private async Task TapToBroadcastAsync(int rate, bool lowRate)
    {
        var count = rate * settings.TapSeconds;
        var vivoIds = new List<string>();
        await using (var connection = await system.OpenOwnerAsync())
        {
            await using var query = new NpgsqlCommand(
                "SELECT vivo_id FROM challenges WHERE state = 'Accepted' AND request_kind = 'withdrawal' AND vivo_id NOT LIKE 'pgbench:%' ORDER BY created_at DESC LIMIT @n", connection);
            query.Parameters.AddWithValue("n", count);
            await using var reader = await query.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                vivoIds.Add(reader.GetString(0));
            }
        }

        if (vivoIds.Count < count)
        {
            results.Failures.Add($"tap to broadcast: only {vivoIds.Count} pending challenges to tap, {count} wanted (intake made too few)");
        }

        Console.WriteLine($"Tapping {vivoIds.Count} challenges at {rate} per second...");
        await using var sampler = WaitSampler.Start(system);
        var clock = Stopwatch.StartNew();
        var taps = new List<Task>();
        for (var i = 0; i < vivoIds.Count; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / rate);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait);
            }

            var vivoId = vivoIds[i];
            taps.Add(Task.Run(async () =>
            {
                using var response = await system.Simulator.PostAsync($"/simulator/challenges/{vivoId}/tap", null);
                if (!response.IsSuccessStatusCode)
                {
                    results.CountAnswer((int)response.StatusCode, await response.Content.ReadAsStringAsync());
                }
            }));
        }

        await Task.WhenAll(taps);
        var achieved = Math.Round(vivoIds.Count / clock.Elapsed.TotalSeconds, 1);

        // The hash each tapped withdrawal was first signed with, and when anvil answered its broadcast.
        var hashes = new Dictionary<string, string>();
        await WaitUntilAsync("every tapped withdrawal to reach anvil", TimeSpan.FromMinutes(3), async () =>
        {
            hashes = await FirstHashesAsync(vivoIds);
            return hashes.Count == vivoIds.Count && hashes.Values.All(system.Proxy.Received.ContainsKey);
        });

        var phase = lowRate ? "tap to broadcast, low rate" : "tap to broadcast";
        results.Profiles[phase] = await sampler.StopAsync();
        Console.WriteLine($"    database backends during it: {results.Profiles[phase]}");
        var callbacks = await system.Simulator.GetFromJsonAsync<JsonArray>("/simulator/callbacks")
            ?? throw new InvalidOperationException("The simulator listed no callbacks.");
        var sentAt = callbacks
            .Where(c => c!["sent"]!.GetValue<bool>())
            .GroupBy(c => c!["vivo_id"]!.GetValue<string>())
            // The moment the simulator began to POST success (sent_at), not when the exchange had answered (at).
            .ToDictionary(g => g.Key, g => g.Min(c => (c!["sent_at"] ?? c["at"])!.GetValue<DateTimeOffset>()));
        var samples = vivoIds
            .Where(v => hashes.ContainsKey(v) && sentAt.ContainsKey(v) && system.Proxy.Received.ContainsKey(hashes[v]))
            .Select(v => Math.Round((system.Proxy.Received[hashes[v]] - sentAt[v]).TotalMilliseconds, 2))
            .ToList();
        await BreakDownTapsAsync(phase, vivoIds, sentAt, hashes);
        var l = Latency.Of(samples);
        if (lowRate)
        {
            results.TapToBroadcastLowRate = l;
            results.TapLowRateAchieved = achieved;
            results.TapToBroadcastLowRateSamplesMs = samples;
        }
        else
        {
            results.TapToBroadcast = l;
            results.TapRateAchieved = achieved;
            results.TapToBroadcastSamplesMs = samples;
        }

        Console.WriteLine($"  tap to broadcast at {achieved:F0} taps/s: p50 {l.P50:F1} ms, p95 {l.P95:F1} ms, p99 {l.P99:F1} ms, max {l.Max:F1} ms ({l.Count} taps)");
    }

    /// <summary>Where the time between the callback and anvil goes: applying it, waiting to be signed, signing to broadcast.</summary>
    private async Task BreakDownTapsAsync(string phase, List<string> vivoIds, Dictionary<string, DateTimeOffset> sentAt, Dictionary<string, string> hashes)
    {
        var applied = new List<double>();
        var toSigned = new List<double>();
        var toAnvil = new List<double>();
        await using var connection = await system.OpenOwnerAsync();
        await using var query = new NpgsqlCommand("""
            SELECT c.vivo_id,
                   (SELECT min(a.at) FROM audit_events a WHERE a.subject = 'withdrawal:' || c.request_id AND a.action = 'withdrawal.approved'),
                   (SELECT min(a.at) FROM audit_events a WHERE a.subject = 'withdrawal:' || c.request_id AND a.action = 'withdrawal.signed')
            FROM challenges c WHERE c.vivo_id = ANY(@ids)
            """, connection);
        query.Parameters.AddWithValue("ids", vivoIds.ToArray());
        await using var reader = await query.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var vivoId = reader.GetString(0);
            if (reader.IsDBNull(1) || reader.IsDBNull(2) || !sentAt.TryGetValue(vivoId, out var sent)
                || !hashes.TryGetValue(vivoId, out var hash) || !system.Proxy.Received.TryGetValue(hash, out var atAnvil))
            {
                continue;
            }

            var approvedAt = new DateTimeOffset(reader.GetDateTime(1), TimeSpan.Zero);
            var signedAt = new DateTimeOffset(reader.GetDateTime(2), TimeSpan.Zero);
            applied.Add((approvedAt - sent).TotalMilliseconds);
            toSigned.Add((signedAt - approvedAt).TotalMilliseconds);
            toAnvil.Add((atAnvil - signedAt).TotalMilliseconds);
        }

        string Describe(List<double> samples)
        {
            var l = Latency.Of(samples);
            return $"p50 {l.P50:F1} ms, p99 {l.P99:F1} ms";
        }

        results.Profiles[phase + ", stages"] = $"callback sent → applied: {Describe(applied)}; applied → signed: {Describe(toSigned)}; signed → anvil has it: {Describe(toAnvil)}";
        Console.WriteLine($"    {results.Profiles[phase + ", stages"]}");
    }

    private async Task<Dictionary<string, string>> FirstHashesAsync(List<string> vivoIds)
    {
        var hashes = new Dictionary<string, string>();
        await using var connection = await system.OpenOwnerAsync();
        await using var query = new NpgsqlCommand("""
            SELECT c.vivo_id, t.hash FROM challenges c
            JOIN LATERAL (SELECT hash FROM withdrawal_transactions WHERE withdrawal_id = c.request_id ORDER BY id LIMIT 1) t ON true
            WHERE c.vivo_id = ANY(@ids)
            """, connection);
        query.Parameters.AddWithValue("ids", vivoIds.ToArray());
        await using var reader = await query.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            hashes[reader.GetString(0)] = reader.GetString(1);
        }

        return hashes;
    }

    // ---- 3. End to end, and anvil's own ceiling --------------------------------------------------------

    public async Task EndToEndAsync()
    {
        var count = settings.EndToEndCount;
        var clients = settings.EndToEndConcurrency;
        Console.WriteLine($"End to end: {count} withdrawals from {clients} clients, tapped by the simulator at once, until confirmed...");
        await system.SetAutoTapAsync(true);
        var ids = new ConcurrentBag<Guid>();
        var issued = 0;
        var start = DateTimeOffset.UtcNow;
        await Task.WhenAll(_traders.Take(clients).Select(async trader =>
        {
            while (Interlocked.Increment(ref issued) <= count)
            {
                var (status, id, error) = await trader.WithdrawAsync(Amount);
                if (id is { } accepted)
                {
                    ids.Add(accepted);
                }
                else
                {
                    results.CountAnswer(status, error);
                }
            }
        }));

        var all = ids.ToArray();
        var stopwatch = Stopwatch.StartNew();
        await WaitUntilAsync($"{all.Length} withdrawals to be confirmed", TimeSpan.FromMinutes(10), async () =>
        {
            var confirmed = await system.ScalarAsync<long>("SELECT count(*) FROM withdrawals WHERE id = ANY(@ids) AND status = 'confirmed'", ("ids", all));
            var ended = await system.ScalarAsync<long>("SELECT count(*) FROM withdrawals WHERE id = ANY(@ids) AND status IN ('failed', 'expired', 'rejected', 'declined', 'token_expired')", ("ids", all));
            if (ended > 0)
            {
                throw new InvalidOperationException($"{ended} withdrawals ended without being confirmed");
            }

            if (stopwatch.Elapsed > TimeSpan.FromSeconds(10))
            {
                Console.WriteLine($"  ... {confirmed} of {all.Length} confirmed");
                stopwatch.Restart();
            }

            return confirmed == all.Length;
        });
        await system.SetAutoTapAsync(false);
        var last = await system.ScalarAsync<DateTime>("SELECT max(updated_at) FROM withdrawals WHERE id = ANY(@ids)", ("ids", all));
        var seconds = (new DateTimeOffset(last, TimeSpan.Zero) - start).TotalSeconds;
        results.EndToEnd = new Throughput(all.Length, clients, Math.Round(seconds, 3), Math.Round(all.Length / seconds, 1));
        Console.WriteLine($"  end to end: {all.Length} confirmed in {seconds:F1} s = {results.EndToEnd.PerSecond:F0}/s");
    }

    /// <summary>Pre-signed transfers from anvil's development account #9, sent straight to anvil at the same concurrency.</summary>
    public async Task AnvilCeilingAsync()
    {
        var ecKey = new EthECKey(BenchSystem.AnvilCeilingKey);
        var from = ecKey.GetPublicAddress();
        var count = settings.AnvilCount;
        var clients = settings.EndToEndConcurrency;
        var first = (long)Hex(await system.Anvil.RpcAsync("eth_getTransactionCount", from, "pending"));
        var signer = new Transaction1559Signer();
        var raws = Enumerable.Range(0, count).Select(i =>
        {
            var transaction = new Transaction1559(system.Anvil.ChainId, first + i, 1_000_000_000, 100_000_000_000, 21_000, Trader.Destination, 1_000_000_000_000, "", null);
            return signer.SignTransaction(ecKey, transaction).EnsureHexPrefix();
        }).ToArray();

        Console.WriteLine($"anvil's own ceiling: {count} pre-signed transfers from {clients} clients...");
        var next = -1;
        var start = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < raws.Length)
            {
                await system.Anvil.RpcAsync("eth_sendRawTransaction", raws[i]);
            }
        }));
        await WaitUntilAsync("anvil to mine every pre-signed transfer", TimeSpan.FromMinutes(5), async () =>
            (long)Hex(await system.Anvil.RpcAsync("eth_getTransactionCount", from, "latest")) >= first + count, poll: TimeSpan.FromMilliseconds(20));
        var seconds = start.Elapsed.TotalSeconds;
        results.AnvilCeiling = new Throughput(count, clients, Math.Round(seconds, 3), Math.Round(count / seconds, 1));
        Console.WriteLine($"  anvil: {count} mined in {seconds:F1} s = {results.AnvilCeiling.PerSecond:F0}/s");
    }

    private static BigInteger Hex(JsonNode? node) => BigInteger.Parse("0" + node!.GetValue<string>()[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    // ---- 4. The reconciler ---------------------------------------------------------------------------

    /// <summary>One pass with nothing due, at 1,000, 10,000 and 100,000 pending challenges.</summary>
    public async Task ReconcilerIdleAsync()
    {
        Console.WriteLine("Reconciler: passes with nothing due...");
        var member = await system.ScalarAsync<Guid>("SELECT id FROM members ORDER BY id LIMIT 1");
        foreach (var pending in settings.ReconcilerPending)
        {
            var have = await system.ScalarAsync<long>("SELECT count(*) FROM challenges WHERE state <> 'Ended'");
            if (have < pending)
            {
                await system.ScalarAsync<int>($"""
                    WITH added AS (
                      INSERT INTO challenges (id, created_at, deadline, id_hash, member_id, message, request_id, request_kind, send_attempts, state, vivo_id)
                      SELECT gen_random_uuid(), now(), now() + interval '1 day', sha256(convert_to(gen_random_uuid()::text, 'UTF8')), @member,
                             '{SyntheticMessage}', gen_random_uuid(), 'withdrawal', 1, 'Accepted', 'pgbench:synthetic'
                      FROM generate_series(1, @n)
                      RETURNING 1)
                    SELECT count(*)::int FROM added
                    """, ("member", member), ("n", (int)(pending - have)));
                await system.ExecuteAsync("VACUUM ANALYZE challenges");
                await system.ExecuteAsync("VACUUM ANALYZE withdrawals");
            }

            var durations = new List<double>();
            for (var i = 0; i < 30; i++)
            {
                var clock = Stopwatch.StartNew();
                var report = await PassAsync();
                durations.Add(clock.Elapsed.TotalMilliseconds);
                if (report.Expired + report.Failed + report.SendsRetried + report.SigningsResumed + report.ChainChecks > 0)
                {
                    results.Failures.Add($"A reconciler pass with nothing due did work: {report}");
                }
            }

            var latency = Latency.Of(durations.Skip(5).ToList());
            var plan = await PlanAsync();
            results.ReconcilerIdle.Add(new ReconcilerIdleLevel(pending, Math.Round(latency.P50, 2), Math.Round(latency.P95, 2), Math.Round(latency.Max, 2), plan));
            Console.WriteLine($"  {pending,7} pending: median pass {latency.P50:F2} ms, p95 {latency.P95:F2} ms; plans: {plan}");
        }

        await system.ExecuteAsync($"DELETE FROM challenges WHERE message = '{SyntheticMessage}'");
        await system.ExecuteAsync("VACUUM ANALYZE challenges");
    }

    /// <summary>Every pending challenge made due at once; passes run back to back until all are ended.</summary>
    public async Task ReconcilerDueAsync()
    {
        var due = (int)await system.ScalarAsync<long>("""
            WITH due AS (UPDATE challenges SET deadline = now() - interval '1 hour' WHERE state <> 'Ended' RETURNING 1)
            SELECT count(*) FROM due
            """);
        Console.WriteLine($"Reconciler: ending {due} due challenges...");
        var clock = Stopwatch.StartNew();
        var passes = 0;
        while (await system.ScalarAsync<long>("SELECT count(*) FROM challenges WHERE state <> 'Ended'") > 0)
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(5))
            {
                results.Failures.Add("The reconciler did not end every due challenge within 5 minutes.");
                break;
            }

            await PassAsync();
            passes++;
        }

        var seconds = clock.Elapsed.TotalSeconds;
        results.ReconcilerDue = new ReconcilerDue(due, Math.Round(seconds, 3), Math.Round(due / seconds, 1), passes);
        Console.WriteLine($"  {due} ended in {seconds:F2} s = {results.ReconcilerDue.PerSecond:F0}/s over {passes} passes");
    }

    public async Task CheckInvariantsAsync()
    {
        await using var scope = Tool().Services.CreateAsyncScope();
        var report = await scope.ServiceProvider.GetRequiredService<InvariantChecker>().CheckAsync(CancellationToken.None);
        results.Invariants = InvariantChecker.Format(report);
        Console.WriteLine(results.Invariants);
        if (!report.Ok)
        {
            results.Failures.Add("The invariant checker found a broken invariant after the run.");
        }
    }

    private async Task<Exchange.Api.Features.Requests.Reconcile.Report> PassAsync()
    {
        await using var scope = Tool().Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<Exchange.Api.Features.Requests.Reconcile>().RunAsync(CancellationToken.None);
    }

    /// <summary>The exchange's own services, as its command line (`Exchange.Api reconcile`) builds them: no server, no jobs.</summary>
    private WebApplication Tool() => _tool ??= ExchangeApp.Build(["--environment", "Development"], builder =>
    {
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Exchange"] = system.AppConnectionString,
            ["Exchange:RunJobs"] = "false",
            ["Exchange:ServeApi"] = "false",
            ["Exchange:MigrateOnStartup"] = "false",
            ["VivoKey:Authority"] = system.SimulatorUrl + "/openid",
            ["VivoKey:ValidationEndpoint"] = system.SimulatorUrl + "/v1.0/validate/",
            ["VivoKey:CallbackUrl"] = system.ExchangeUrl + "/vivokey/callback",
            ["VivoKey:ClientId"] = BenchSystem.ClientId,
            ["VivoKey:ClientSecret"] = BenchSystem.ClientSecret,
            ["Ethereum:RpcUrl"] = system.Anvil.RpcUrl,
            ["Ethereum:ChainId"] = system.Anvil.ChainId.ToString(CultureInfo.InvariantCulture),
            ["Ethereum:Confirmations"] = "1",
            ["Ethereum:HotWalletPrivateKey"] = BenchSystem.HotWalletKey,
            ["Logging:LogLevel:Default"] = "Warning",
        });
    });

    /// <summary>How PostgreSQL runs the reconciler's look-ups (the statements it issues, as EF Core writes them).</summary>
    private async Task<string> PlanAsync()
    {
        string[] queries =
        [
            "SELECT c.id FROM challenges AS c WHERE c.state <> 'Ended' AND c.deadline <= now() - interval '30 seconds' ORDER BY c.deadline LIMIT 200",
            "SELECT c.id FROM challenges AS c WHERE c.state = 'Sending' AND c.next_send_at IS NOT NULL AND c.next_send_at <= now() - interval '10 seconds' ORDER BY c.next_send_at LIMIT 200",
            "SELECT w.id FROM withdrawals AS w WHERE w.status = 'approved' AND w.updated_at <= now() - interval '10 seconds' ORDER BY w.updated_at LIMIT 200",
            "SELECT w.id FROM withdrawals AS w WHERE (w.status = 'signed' AND w.updated_at <= now() - interval '10 seconds') OR (w.status = 'broadcast' AND w.updated_at <= now() - interval '30 seconds') ORDER BY w.updated_at LIMIT 200",
        ];
        var plans = new List<string>();
        await using var connection = await system.OpenOwnerAsync();
        foreach (var sql in queries)
        {
            await using var explain = new NpgsqlCommand("EXPLAIN (FORMAT JSON) " + sql, connection);
            var json = (string)(await explain.ExecuteScalarAsync())!;
            var nodes = PlanNode().Matches(json).Select(m => m.Groups["index"].Success ? $"{m.Groups["type"].Value} {m.Groups["index"].Value}" : m.Groups["type"].Value);
            plans.Add(string.Join(" > ", nodes));
        }

        return string.Join("; ", plans);
    }

    // ---- Helpers -----------------------------------------------------------------------------------------

    /// <summary>Accepted means VivoKey took the challenge: waits until none is still being sent.</summary>
    private Task AllChallengesAcceptedAsync() =>
        WaitUntilAsync("every challenge to be accepted by the simulator", TimeSpan.FromMinutes(3),
            async () => await system.ScalarAsync<long>("SELECT count(*) FROM challenges WHERE state = 'Sending'") == 0);

    private static async Task WaitUntilAsync(string what, TimeSpan timeout, Func<Task<bool>> condition, TimeSpan? poll = null)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"Gave up waiting for {what} after {timeout.TotalSeconds:F0} s.");
            }

            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(50));
        }
    }

    private static async Task<string> RunAsync(string file, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return await output + await error;
    }

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    private static partial Regex Tps();

    [GeneratedRegex("\"Node Type\": \"(?<type>[^\"]+)\"(?:[^{}]*?\"Index Name\": \"(?<index>[^\"]+)\")?")]
    private static partial Regex PlanNode();
}

using System.Text.Json.Nodes;
using Npgsql;
using Xunit.Abstractions;

namespace Exchange.Api.Tests.Support;

/// <summary>
/// For a test that runs the exchange as OS processes with one set of settings (a crash point among them):
/// start and wait until live, wait for the kill at the point, read the database, run check-invariants.
/// </summary>
public sealed class ProcessChecks(ExchangeFixture system, ITestOutputHelper output, IDictionary<string, string?> settings)
{
    /// <summary>A serving process, live; a crash point already passed (its marker exists) lets it run on.</summary>
    public async Task<ExchangeProcess> StartAsync()
    {
        var process = ExchangeProcess.Start(settings);
        try
        {
            await process.WaitUntilLiveAsync(system.ExchangeUrl);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }

        return process;
    }

    /// <summary>
    /// Until the process has killed itself at <paramref name="point"/>: meanwhile taps every challenge VivoKey
    /// holds for <paramref name="tapFor"/> (once each) and runs <paramref name="each"/>.
    /// </summary>
    public async Task UntilKilledAsync(ExchangeProcess process, string point, string? tapFor, Func<Task>? each = null)
    {
        var tapped = new HashSet<string>();
        await Poll.UntilAsync(async () =>
        {
            if (tapFor is not null && !process.HasExited)
            {
                foreach (var challenge in await PendingChallengesAsync(tapFor, _ => true, wait: false))
                {
                    var vivoId = challenge!["vivo_id"]!.GetValue<string>();
                    if (tapped.Add(vivoId))
                    {
                        // The exchange may die while VivoKey calls back: the tap itself still counts at VivoKey.
                        await system.TapAsync(vivoId);
                    }
                }
            }

            if (each is not null && !process.HasExited)
            {
                await each();
            }

            return process.HasExited;
        }, exited => exited, $"the exchange to die at {point}", 60);
        Assert.True(process.ExitCode == ExchangeProcess.KilledExitCode, $"exit {process.ExitCode}:\n{process.Output}");
        Assert.Contains($"Crash point {point}", process.Output, StringComparison.Ordinal);
    }

    /// <summary>VivoKey's pending challenges for a member that match; with <paramref name="wait"/>, until there is one.</summary>
    public async Task<JsonArray> PendingChallengesAsync(string subject, Func<JsonNode, bool> match, bool wait = true)
    {
        async Task<JsonArray> ReadAsync() => new(
            (await system.Simulator.GetFromJsonAsync<JsonArray>($"/simulator/challenges?member={subject}&status=pending"))!
                .Where(c => match(c!)).Select(c => c!.DeepClone()).ToArray());
        return wait ? await Poll.UntilAsync(ReadAsync, list => list.Count > 0, $"a pending challenge for {subject}") : await ReadAsync();
    }

    /// <summary>Until the first column of <paramref name="sql"/>'s first row reads <paramref name="expected"/>.</summary>
    public Task UntilAsync(string sql, string expected, string what, double seconds = 60) =>
        Poll.UntilAsync(() => ScalarAsync<string?>(sql), value => value == expected, what, seconds);

    /// <summary>Every hash stored for a withdrawal, the first signed first.</summary>
    public async Task<List<string>> HashesAsync(Guid withdrawalId)
    {
        await using var connection = new NpgsqlConnection(system.OwnerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT hash FROM withdrawal_transactions WHERE withdrawal_id = '{withdrawalId}' ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var hashes = new List<string>();
        while (await reader.ReadAsync())
        {
            hashes.Add(reader.GetString(0));
        }

        return hashes;
    }

    public Task<long> AuditCountAsync(string subject, string action) =>
        ScalarAsync<long>($"SELECT count(*) FROM audit_events WHERE subject = '{subject}' AND action = '{action}'");

    public Task<long> JournalCountAsync(Guid requestId, string kind) =>
        ScalarAsync<long>($"SELECT count(*) FROM journal_entries WHERE request_id = '{requestId}' AND kind = '{kind}'");

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(system.OwnerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default! : (T)value;
    }

    /// <summary>`Exchange.Api check-invariants`, a process of its own: exit 0 and every invariant held.</summary>
    public async Task AssertInvariantsHoldAsync()
    {
        await using var check = ExchangeProcess.Start(settings, "check-invariants");
        var exit = await check.WaitForExitAsync();
        output.WriteLine(check.Output);
        Assert.True(exit == 0, check.Output);
        Assert.Contains("All invariants hold.", check.Output, StringComparison.Ordinal);
    }
}

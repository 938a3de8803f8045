using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Exchange.Api.Tests.Support;
using Npgsql;
using Xunit.Abstractions;

namespace Exchange.Api.Tests;

/// <summary>The tour's member is compliance, as the demo member is under make run, so one sign-in also reads the audit trail.</summary>
public sealed class QuickTourFixture : ExchangeFixture
{
    public const string Member = "vk-quick-tour";

    protected override void Configure(IDictionary<string, string?> exchange) => exchange["Roles:Compliance:0"] = Member;
}

/// <summary>
/// README.md's five minutes are scripts/quick-tour.sh, and this runs it as a reader would (bash, curl, openssl)
/// against a whole system: so the front door fails the build the day it stops being true.
/// </summary>
public sealed partial class QuickTourTests(QuickTourFixture system, ITestOutputHelper output) : IClassFixture<QuickTourFixture>
{
    [Fact]
    public async Task The_quick_tour_signs_in_withdraws_taps_sees_it_confirmed_and_prints_its_audit_trail()
    {
        using (var created = await system.Simulator.PostAsJsonAsync("/simulator/members",
                   new { subject = QuickTourFixture.Member, name = "Tour Taker", email = "tour@example.test" }))
        {
            created.EnsureSuccessStatusCode();
        }

        var (exitCode, text) = await RunTourAsync();
        output.WriteLine(text);

        Assert.True(exitCode == 0, $"quick-tour.sh exited {exitCode}:\n{text}");
        var id = Guid.Parse(WithdrawalLine().Match(text).Groups[1].Value);
        Assert.Contains("status confirmed", text, StringComparison.Ordinal);
        Assert.Contains($"Done: withdrawal {id} confirmed.", text, StringComparison.Ordinal);
        // The trail it printed: the request by the member, the tap by VivoKey, the chain's steps by the jobs.
        Assert.Matches(@"member:vk-quick-tour\s+withdrawal\.requested", text);
        Assert.Matches(@"vivokey\s+withdrawal\.approved", text);
        Assert.Matches(@"system\s+withdrawal\.confirmed", text);

        await using var db = new NpgsqlConnection(system.OwnerConnectionString);
        await db.OpenAsync();
        await using var read = new NpgsqlCommand(
            "SELECT w.status FROM withdrawals w JOIN members m ON m.id = w.member_id WHERE w.id = @id AND m.subject = @subject", db);
        read.Parameters.AddWithValue("id", id);
        read.Parameters.AddWithValue("subject", QuickTourFixture.Member);
        Assert.Equal("confirmed", await read.ExecuteScalarAsync() as string);
    }

    [Fact]
    public void Every_line_the_readme_shows_of_the_tour_is_a_line_of_the_script()
    {
        var readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        var script = File.ReadAllLines(Path.Combine(Root, "scripts", "quick-tour.sh")).Select(l => l.Trim()).ToHashSet(StringComparer.Ordinal);
        var block = QuickTourBlock().Match(readme);
        Assert.True(block.Success, "README.md has no quick-tour:begin … quick-tour:end block");
        var shown = block.Groups[1].Value.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith("```", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(shown);
        Assert.All(shown, line => Assert.True(script.Contains(line), $"README.md shows a line scripts/quick-tour.sh does not have: {line}"));
    }

    private static string Root =>
        Exchange.Testing.RepositoryRoot.Find() ?? throw new InvalidOperationException("Exchange.sln not found above " + AppContext.BaseDirectory);

    private async Task<(int ExitCode, string Output)> RunTourAsync()
    {
        var root = Root;
        var start = new ProcessStartInfo("bash", [Path.Combine(root, "scripts", "quick-tour.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = root,
        };
        start.Environment["EXCHANGE_URL"] = system.ExchangeUrl;
        start.Environment["SIMULATOR_URL"] = system.SimulatorUrl;
        start.Environment["TOUR_MEMBER"] = QuickTourFixture.Member;
        // Generous for a loaded CI box; the tour itself takes a few seconds.
        start.Environment["TOUR_TIMEOUT"] = "120";

        var text = new StringBuilder();
        using var tour = new Process { StartInfo = start };
        tour.OutputDataReceived += (_, e) => Append(e.Data);
        tour.ErrorDataReceived += (_, e) => Append(e.Data);
        tour.Start();
        tour.BeginOutputReadLine();
        tour.BeginErrorReadLine();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        try
        {
            await tour.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            tour.Kill(entireProcessTree: true);
            throw new TimeoutException($"quick-tour.sh did not end within 300 s:\n{Output()}");
        }

        // The exit is seen before the last lines are read: wait for the streams' end too.
        tour.WaitForExit();
        return (tour.ExitCode, Output());

        void Append(string? line)
        {
            if (line is not null)
            {
                lock (text)
                {
                    text.AppendLine(line);
                }
            }
        }

        string Output()
        {
            lock (text)
            {
                return text.ToString();
            }
        }
    }

    [GeneratedRegex(@"<!-- quick-tour:begin[^\n]*-->(.*?)<!-- quick-tour:end -->", RegexOptions.Singleline)]
    private static partial Regex QuickTourBlock();

    [GeneratedRegex(@"^withdrawal ([0-9a-f-]{36})$", RegexOptions.Multiline)]
    private static partial Regex WithdrawalLine();
}

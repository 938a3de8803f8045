using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Exchange.Api.Infrastructure.Notifications;
using Exchange.Api.Tests.Support;
using Exchange.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Exchange.Api.Tests;

/// <summary>
/// GET /api/events: a trader's live stream of their requests' statuses, carried between instances by
/// PostgreSQL NOTIFY on request_status, opening with the current state.
/// </summary>
public sealed class StatusEventsTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    [Fact]
    public async Task A_stream_opens_with_the_current_state_then_follows_a_withdrawal_to_confirmed()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("2");
        var id = await trader.AcceptedWithdrawalAsync("0.5", ExchangeFixture.NewAddress());
        await using var stream = await EventStream.OpenAsync(trader);

        var first = await stream.NextAsync(e => e.Type == "status" && e.Id == id, "the current state of the withdrawal");
        Assert.Equal("pending_approval", first.Status);
        await stream.NextAsync(e => e.Type == "ready", "the end of the current state");

        var challenge = await system.PendingChallengeAsync(trader.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));

        var seen = new List<string>();
        var confirmed = await stream.NextAsync(e =>
        {
            if (e.Type == "status" && e.Id == id)
            {
                seen.Add(e.Status!);
            }

            return e.Type == "status" && e.Id == id && e.Status == "confirmed";
        }, "the withdrawal confirmed", seconds: 60);
        Assert.StartsWith("0x", confirmed.Data["txHash"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("broadcast", seen);
        Assert.True(confirmed.Data["confirmations"]!.GetValue<int>() >= 1);
    }

    [Fact]
    public async Task A_page_on_one_instance_hears_of_the_callback_another_instance_handled()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("1");

        // A second instance on the same database that serves pages only: VivoKey calls back the first.
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
        await second.Services.GetRequiredService<StatusNotificationListener>().Listening.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await using var stream = await EventStream.OpenAsync(trader, settings["Urls"]);
        await stream.NextAsync(e => e.Type == "ready", "the stream on the second instance ready");

        var id = await trader.AcceptedWithdrawalAsync("0.1", ExchangeFixture.NewAddress());
        Assert.Equal("pending_approval", (await stream.NextAsync(e => e.Type == "status" && e.Id == id, "the new withdrawal")).Status);
        var challenge = await system.PendingChallengeAsync(trader.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));

        await stream.NextAsync(e => e.Type == "status" && e.Id == id && e.Status == "approved", "the callback applied by the first instance");
        await stream.NextAsync(e => e.Type == "status" && e.Id == id && e.Status == "confirmed", "the withdrawal confirmed", seconds: 60);
        await second.StopAsync();
    }

    [Fact]
    public async Task A_notification_from_any_connection_reaches_only_the_member_it_names()
    {
        using var trader = await system.NewTraderAsync();
        using var other = await system.NewTraderAsync();
        await system.Services.GetRequiredService<StatusNotificationListener>().Listening.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await using var mine = await EventStream.OpenAsync(trader);
        await using var theirs = await EventStream.OpenAsync(other);
        await mine.NextAsync(e => e.Type == "ready", "the stream ready");
        await theirs.NextAsync(e => e.Type == "ready", "the other stream ready");
        var forMine = Guid.NewGuid();
        var forTheirs = Guid.NewGuid();
        Task<Guid> MemberOf(Trader t) => system.InScopeAsync(async (db, _) =>
            (await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.SingleAsync(db.Members, m => m.Subject == t.Subject)).Id);
        var members = new[] { (forMine: true, member: await MemberOf(trader)), (forMine: false, member: await MemberOf(other)) };

        // As another instance's commit would: NOTIFY on a connection of its own, one for each member, in this order.
        await using (var connection = new NpgsqlConnection(system.OwnerConnectionString))
        {
            await connection.OpenAsync();
            foreach (var (isMine, member) in members)
            {
                var id = isMine ? forMine : forTheirs;
                await using var notify = new NpgsqlCommand("SELECT pg_notify('request_status', @payload)", connection);
                notify.Parameters.AddWithValue("payload", new JsonObject
                {
                    ["kind"] = "transfer", ["id"] = id, ["member"] = member, ["status"] = "declined", ["txHash"] = null,
                    ["confirmations"] = null, ["updatedAt"] = DateTimeOffset.UtcNow,
                }.ToJsonString());
                await notify.ExecuteNonQueryAsync();
            }
        }

        var arrived = await mine.NextAsync(e => e.Type == "status", "the change notified for this member");
        Assert.Equal(forMine, arrived.Id);
        Assert.Equal("declined", arrived.Status);
        Assert.Null(arrived.Data["member"]);
        // Delivered in commit order: the other member's first change is their own, never this member's.
        Assert.Equal(forTheirs, (await theirs.NextAsync(e => e.Type == "status", "the change notified for the other member")).Id);
    }

    [Fact]
    public async Task The_listener_comes_back_after_its_connection_is_killed_and_changes_keep_arriving()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("1");
        var listener = system.Services.GetRequiredService<StatusNotificationListener>();
        await listener.Listening.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await using var stream = await EventStream.OpenAsync(trader);
        await stream.NextAsync(e => e.Type == "ready", "the stream ready");

        await using (var connection = new NpgsqlConnection(system.OwnerConnectionString))
        {
            await connection.OpenAsync();
            await using var kill = new NpgsqlCommand(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'exchange-status-listener' AND datname = current_database()", connection);
            Assert.True((long)(await kill.ExecuteScalarAsync())! >= 1);
        }

        // Made while the listener may still be away: the catch-up read or the new LISTEN delivers it.
        var id = await trader.AcceptedWithdrawalAsync("0.25", ExchangeFixture.NewAddress());
        var challenge = await system.PendingChallengeAsync(trader.Subject);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));
        await stream.NextAsync(e => e.Type == "status" && e.Id == id && e.Status == "confirmed", "the withdrawal confirmed after the reconnect", seconds: 60);
    }

    private sealed record ServerEvent(string Type, JsonObject Data)
    {
        public Guid? Id => Data["id"] is { } id ? id.GetValue<Guid>() : null;
        public string? Status => Data["status"]?.GetValue<string>();
    }

    /// <summary>A reader of text/event-stream: each event (type and JSON data) into a channel the test waits on.</summary>
    private sealed class EventStream : IAsyncDisposable
    {
        private readonly HttpResponseMessage _response;
        private readonly CancellationTokenSource _stop = new();
        private readonly Channel<ServerEvent> _events = Channel.CreateUnbounded<ServerEvent>();
        private readonly Task _reading;

        private EventStream(HttpResponseMessage response)
        {
            _response = response;
            _reading = Task.Run(ReadAsync);
        }

        /// <param name="instanceUrl">Another instance of the exchange (the session cookie is good on every instance); the trader's own by default.</param>
        public static async Task<EventStream> OpenAsync(Trader trader, string? instanceUrl = null)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, instanceUrl is null ? "/api/events" : instanceUrl + "/api/events");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            var response = await trader.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            return new EventStream(response);
        }

        private async Task ReadAsync()
        {
            try
            {
                using var reader = new StreamReader(await _response.Content.ReadAsStreamAsync(_stop.Token));
                string type = "message";
                var data = new System.Text.StringBuilder();
                while (await reader.ReadLineAsync(_stop.Token) is { } line)
                {
                    if (line.Length == 0)
                    {
                        if (data.Length > 0)
                        {
                            await _events.Writer.WriteAsync(new ServerEvent(type, JsonNode.Parse(data.ToString())!.AsObject()), _stop.Token);
                        }

                        type = "message";
                        data.Clear();
                    }
                    else if (line.StartsWith("event:", StringComparison.Ordinal))
                    {
                        type = line[6..].Trim();
                    }
                    else if (line.StartsWith("data:", StringComparison.Ordinal))
                    {
                        data.Append(line[5..].TrimStart());
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (IOException)
            {
            }
            finally
            {
                _events.Writer.TryComplete();
            }
        }

        public async Task<ServerEvent> NextAsync(Func<ServerEvent, bool> wanted, string what, double seconds = 20)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            try
            {
                while (await _events.Reader.WaitToReadAsync(deadline.Token))
                {
                    while (_events.Reader.TryRead(out var e))
                    {
                        if (wanted(e))
                        {
                            return e;
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }

            throw new TimeoutException($"No event within {seconds} s: {what}.");
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _response.Dispose();
            await _reading;
            _stop.Dispose();
        }
    }
}

using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Exchange.Api.Common;
using Exchange.Api.Infrastructure.Notifications;
using Exchange.Api.Infrastructure.Persistence;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Features.Requests;

/// <summary>
/// <c>GET /api/events</c>: the signed-in member's withdrawals and transfers as they change, as
/// Server-Sent Events. A stream opens with the current state of the member's recent requests (so a
/// page that reconnects is up to date at once), then sends each change committed by any instance
/// (PostgreSQL NOTIFY on <c>request_status</c>), and a <c>ping</c> when quiet. At every heartbeat the
/// session that opened it is looked up again: a stream outlives no sign-out or revocation by more than one.
/// </summary>
public static class RequestEvents
{
    public const string StatusEvent = "status";
    private const int RecentRequests = 20;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/api/events", (HttpContext http, StatusNotifications hub, ExchangeDbContext db, MemberSessionStore sessions,
            IOptions<ExchangeOptions> options, TimeProvider clock, IHostApplicationLifetime lifetime) =>
        {
            var member = http.User.MemberId();
            var session = MemberSessionStore.SessionOf(http);
            var heartbeat = TimeSpan.FromMilliseconds(Math.Max(options.Value.EventsHeartbeatMilliseconds, 10));
            // Checked at every heartbeat; a request signed in by no session (none today) has nothing to keep it open.
            Func<CancellationToken, Task<bool>> live = ct => session is { } id ? sessions.IsLiveAsync(id, ct) : Task.FromResult(false);
            http.Response.Headers.CacheControl = "no-cache";
            // Behind nginx-like proxies: send each event as it is written.
            http.Response.Headers["X-Accel-Buffering"] = "no";
            return TypedResults.ServerSentEvents(StreamAsync(member, hub, db, live, heartbeat, clock, lifetime.ApplicationStopping, http.RequestAborted));
        }).RequireAuthorization()
            .WithTags("Withdrawals").WithSummary("Live status of the member's requests (Server-Sent Events)")
            .WithDescription("`text/event-stream`. Opens with a `status` event per recent request (its current state), then `ready`; then a `status` event " +
                "`{ kind, id, status, txHash, confirmations, updatedAt }` for every change committed on any instance, and `ping` when quiet.");

    private static async IAsyncEnumerable<SseItem<object>> StreamAsync(
        Guid member, StatusNotifications hub, ExchangeDbContext db, Func<CancellationToken, Task<bool>> live, TimeSpan heartbeat, TimeProvider clock,
        CancellationToken stopping, [EnumeratorCancellation] CancellationToken aborted)
    {
        // Subscribed before the current state is read, so nothing committed in between is missed (a repeat is harmless).
        using var subscription = hub.Subscribe(member);
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(stopping, aborted);
        var current = await StatusNotifications.CurrentAsync(db, member, changedSince: null, RecentRequests, ended.Token);
        foreach (var change in current.Reverse())
        {
            yield return Item(change);
        }

        yield return new SseItem<object>(new { }, "ready");
        var checkedAt = clock.GetTimestamp();
        while (!ended.IsCancellationRequested)
        {
            // By time, not by quiet spells only: a busy stream checks as often as a quiet one.
            if (clock.GetElapsedTime(checkedAt) >= heartbeat)
            {
                checkedAt = clock.GetTimestamp();
                bool stillLive;
                try
                {
                    stillLive = await live(ended.Token);
                }
                catch (OperationCanceledException)
                {
                    yield break;
                }

                if (!stillLive)
                {
                    yield break;
                }
            }

            RequestStatusChange? next = null;
            var more = true;
            using (var quiet = CancellationTokenSource.CreateLinkedTokenSource(ended.Token))
            {
                quiet.CancelAfter(heartbeat);
                try
                {
                    more = await subscription.Reader.WaitToReadAsync(quiet.Token);
                    if (more)
                    {
                        subscription.Reader.TryRead(out next);
                    }
                }
                catch (OperationCanceledException) when (!ended.IsCancellationRequested)
                {
                }
                catch (OperationCanceledException)
                {
                    yield break;
                }
            }

            if (!more)
            {
                yield break;
            }

            yield return next is null ? new SseItem<object>(new { }, "ping") : Item(next);
        }
    }

    private static SseItem<object> Item(RequestStatusChange change) =>
        new(new { change.Kind, change.Id, change.Status, change.TxHash, change.Confirmations, change.UpdatedAt }, StatusEvent)
        {
            EventId = $"{change.Kind}:{change.Id}:{change.UpdatedAt.ToUnixTimeMilliseconds()}",
        };
}

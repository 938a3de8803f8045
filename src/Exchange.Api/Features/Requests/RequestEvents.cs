using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Exchange.Api.Common;
using Exchange.Api.Infrastructure.Notifications;
using Exchange.Api.Infrastructure.Persistence;

namespace Exchange.Api.Features.Requests;

/// <summary>
/// <c>GET /api/events</c>: the signed-in member's withdrawals and transfers as they change, as
/// Server-Sent Events. A stream opens with the current state of the member's recent requests (so a
/// page that reconnects is up to date at once), then sends each change committed by any instance
/// (PostgreSQL NOTIFY on <c>request_status</c>), and a <c>ping</c> when quiet.
/// </summary>
public static class RequestEvents
{
    public const string StatusEvent = "status";
    private const int RecentRequests = 20;
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/api/events", (HttpContext http, StatusNotifications hub, ExchangeDbContext db, IHostApplicationLifetime lifetime) =>
        {
            var member = http.User.MemberId();
            http.Response.Headers.CacheControl = "no-cache";
            // Behind nginx-like proxies: send each event as it is written.
            http.Response.Headers["X-Accel-Buffering"] = "no";
            return TypedResults.ServerSentEvents(StreamAsync(member, hub, db, lifetime.ApplicationStopping, http.RequestAborted));
        }).RequireAuthorization();

    private static async IAsyncEnumerable<SseItem<object>> StreamAsync(
        Guid member, StatusNotifications hub, ExchangeDbContext db, CancellationToken stopping, [EnumeratorCancellation] CancellationToken aborted)
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
        while (!ended.IsCancellationRequested)
        {
            RequestStatusChange? next = null;
            var more = true;
            using (var quiet = CancellationTokenSource.CreateLinkedTokenSource(ended.Token))
            {
                quiet.CancelAfter(Heartbeat);
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

using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Common;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Infrastructure.Notifications;

/// <summary>
/// A withdrawal or transfer as it stands after a committed change: what a trader's page needs to
/// redraw the request without asking again. The database trigger <c>request_status_notify</c>
/// builds it (migration RequestStatusNotify), so every writer on every instance is covered.
/// </summary>
public sealed record RequestStatusChange(
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("id")] Guid Id,
    [property: JsonPropertyName("member")] Guid Member,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("txHash")] string? TxHash,
    [property: JsonPropertyName("confirmations")] int? Confirmations,
    [property: JsonPropertyName("updatedAt")] DateTimeOffset UpdatedAt);

/// <summary>
/// Fans status changes out, in process, to the pages (Server-Sent Events streams) open on this
/// instance. The one LISTEN connection per instance (<see cref="StatusNotificationListener"/>) feeds it.
/// </summary>
public sealed class StatusNotifications
{
    public const string Channel = "request_status";

    // A page that stops reading loses its oldest updates, never blocks the listener; it reads the current state on reconnect.
    private const int PerSubscriberBuffer = 256;

    private readonly ConcurrentDictionary<Guid, ConcurrentDictionary<Subscription, byte>> _byMember = new();

    public sealed class Subscription : IDisposable
    {
        private readonly StatusNotifications _owner;

        internal Subscription(StatusNotifications owner, Guid member)
        {
            _owner = owner;
            Member = member;
        }

        public Guid Member { get; }

        internal Channel<RequestStatusChange> Changes { get; } = System.Threading.Channels.Channel.CreateBounded<RequestStatusChange>(
            new BoundedChannelOptions(PerSubscriberBuffer) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

        public ChannelReader<RequestStatusChange> Reader => Changes.Reader;

        public void Dispose() => _owner.Remove(this);
    }

    public Subscription Subscribe(Guid member)
    {
        var subscription = new Subscription(this, member);
        _byMember.GetOrAdd(member, _ => new ConcurrentDictionary<Subscription, byte>())[subscription] = 0;
        return subscription;
    }

    public int SubscriberCount => _byMember.Values.Sum(s => s.Count);

    public void Publish(RequestStatusChange change)
    {
        if (_byMember.TryGetValue(change.Member, out var subscriptions))
        {
            foreach (var subscription in subscriptions.Keys)
            {
                subscription.Changes.Writer.TryWrite(change);
            }
        }
    }

    private void Remove(Subscription subscription)
    {
        if (_byMember.TryGetValue(subscription.Member, out var subscriptions))
        {
            subscriptions.TryRemove(subscription, out _);
        }

        subscription.Changes.Writer.TryComplete();
    }

    public static RequestStatusChange? Parse(string payload)
    {
        try
        {
            return JsonSerializer.Deserialize<RequestStatusChange>(payload);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The current state of a member's most recently changed requests, newest first.</summary>
    public static async Task<IReadOnlyList<RequestStatusChange>> CurrentAsync(
        ExchangeDbContext db, Guid? member, DateTimeOffset? changedSince, int limit, CancellationToken cancellationToken)
    {
        var withdrawals = db.Withdrawals.AsNoTracking();
        var transfers = db.Transfers.AsNoTracking();
        if (member is { } m)
        {
            withdrawals = withdrawals.Where(w => w.MemberId == m);
            transfers = transfers.Where(t => t.MemberId == m);
        }

        if (changedSince is { } since)
        {
            withdrawals = withdrawals.Where(w => w.UpdatedAt >= since);
            transfers = transfers.Where(t => t.UpdatedAt >= since);
        }

        var w = await withdrawals.OrderByDescending(x => x.UpdatedAt).Take(limit).ToListAsync(cancellationToken);
        var t = await transfers.OrderByDescending(x => x.UpdatedAt).Take(limit).ToListAsync(cancellationToken);
        return w.Select(x => new RequestStatusChange(x.Kind.ToWire(), x.Id, x.MemberId, x.Status.ToWire(), x.TxHash, x.Confirmations, x.UpdatedAt))
            .Concat(t.Select(x => new RequestStatusChange(x.Kind.ToWire(), x.Id, x.MemberId, x.Status.ToWire(), null, null, x.UpdatedAt)))
            .OrderByDescending(c => c.UpdatedAt).Take(limit).ToList();
    }
}

/// <summary>
/// One LISTEN connection per instance on the <c>request_status</c> channel, whichever instance made
/// the change. When the connection drops it reconnects with a growing pause, then reads what changed
/// while it was away (a catch-up read), so an open page misses nothing that committed meanwhile.
/// </summary>
public sealed class StatusNotificationListener(
    IConfiguration configuration,
    StatusNotifications notifications,
    IServiceScopeFactory scopes,
    TimeProvider clock,
    ILogger<StatusNotificationListener> logger) : PostgresListener(configuration, clock, logger)
{
    // How far before the moment the connection was lost the catch-up read starts: clocks of instances differ a little.
    private static readonly TimeSpan CatchUpMargin = TimeSpan.FromSeconds(10);

    protected override string Channel => StatusNotifications.Channel;

    protected override string ApplicationName => "exchange-status-listener";

    protected override string Description => "Status notifications";

    // A page is waiting: come back sooner than the default, and never pause long.
    protected override TimeSpan FirstPause => TimeSpan.FromMilliseconds(250);

    protected override TimeSpan LongestPause => TimeSpan.FromSeconds(10);

    protected override void OnNotification(string payload)
    {
        if (StatusNotifications.Parse(payload) is { } change)
        {
            notifications.Publish(change);
        }
    }

    protected override async Task OnListeningAsync(DateTimeOffset? lostAt, CancellationToken cancellationToken)
    {
        if (lostAt is not { } since)
        {
            return;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ExchangeDbContext>();
        foreach (var change in await StatusNotifications.CurrentAsync(db, member: null, since - CatchUpMargin, limit: 10_000, cancellationToken))
        {
            notifications.Publish(change);
        }
    }
}

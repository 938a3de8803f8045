using System.Text.Json;
using Exchange.Api.Infrastructure.Telemetry;
using Exchange.Domain.Audit;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Exchange.Domain.Ledger;
using Exchange.Domain.Operations;
using Exchange.Domain.Transfers;
using Exchange.Domain.Withdrawals;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Infrastructure.Persistence;

/// <summary>
/// All of the exchange's state. Status transitions of withdrawals and transfers are written to the
/// audit trail by SaveChanges itself, in the same transaction, so no transition can skip its event.
/// </summary>
public sealed class ExchangeDbContext : DbContext, IDataProtectionKeyContext
{
    public const string MigrationsAssembly = "Exchange.Migrations";

    public ExchangeDbContext(DbContextOptions<ExchangeDbContext> options)
        : base(options)
    {
        // A failed save fails its whole transaction here (nothing retries within one), so the savepoint EF Core
        // wraps around each SaveChanges in a transaction would cost two round trips and protect nothing.
        Database.AutoSavepointsEnabled = false;
    }

    public DbSet<Member> Members => Set<Member>();
    public DbSet<MemberToken> MemberTokens => Set<MemberToken>();
    public DbSet<MemberRole> MemberRoles => Set<MemberRole>();
    public DbSet<MemberSession> MemberSessions => Set<MemberSession>();
    public DbSet<OperatorAction> OperatorActions => Set<OperatorAction>();
    public DbSet<Balance> Balances => Set<Balance>();
    public DbSet<JournalEntry> JournalEntries => Set<JournalEntry>();
    public DbSet<Withdrawal> Withdrawals => Set<Withdrawal>();
    public DbSet<WithdrawalTransaction> WithdrawalTransactions => Set<WithdrawalTransaction>();
    public DbSet<Transfer> Transfers => Set<Transfer>();
    public DbSet<Challenge> Challenges => Set<Challenge>();
    public DbSet<RetiredChallengeId> RetiredChallengeIds => Set<RetiredChallengeId>();
    public DbSet<AuditEvent> AuditEvents => Set<AuditEvent>();
    public DbSet<HotWalletState> HotWallets => Set<HotWalletState>();
    public DbSet<IdempotencyRecord> IdempotencyRecords => Set<IdempotencyRecord>();
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    /// <summary>Who is acting in this unit of work: written as the actor of the audit events SaveChanges adds.</summary>
    public string Actor { get; set; } = Actors.System;

    public void Audit(string action, string subject, object data, DateTimeOffset at) =>
        AuditEvents.Add(new AuditEvent(Actor, action, subject, JsonSerializer.Serialize(data, AuditJson), at));

    /// <summary>
    /// Like the audit events, the metrics of a state change are taken here, so no path can skip them: a request
    /// accepted, a status change, a challenge ended. They are recorded once the change commits.
    /// </summary>
    public override async Task<int> SaveChangesAsync(CancellationToken cancellationToken = default)
    {
        // One pass over the tracked entries (each Entries() call is a full DetectChanges).
        foreach (var entry in ChangeTracker.Entries().ToList())
        {
            switch (entry.Entity)
            {
                case ApprovalRequest request:
                    AuditAndCount(entry, request);
                    break;
                case Challenge challenge when entry.State == EntityState.Modified && challenge.IsEnded
                    && entry.Property(nameof(Challenge.State)).OriginalValue is not ChallengeState.Ended:
                    var (kind, outcome) = (challenge.RequestKind, challenge.Outcome ?? "");
                    WhenCommitted(() => ExchangeMetrics.ChallengeEnded(kind, outcome));
                    break;
            }
        }

        var inTransaction = Database.CurrentTransaction is not null;
        int saved;
        try
        {
            saved = await base.SaveChangesAsync(cancellationToken);
        }
        catch when (!inTransaction)
        {
            DropCommitted(null);
            throw;
        }

        if (!inTransaction)
        {
            // Saved without a transaction of ours: committed now.
            RunCommitted(null);
        }

        return saved;
    }

    private void AuditAndCount(Microsoft.EntityFrameworkCore.ChangeTracking.EntityEntry entry, ApprovalRequest request)
    {
        var kind = request.Kind;
        if (entry.State == EntityState.Added)
        {
            WhenCommitted(() => ExchangeMetrics.RequestAccepted(kind));
        }

        foreach (var change in request.PendingChanges)
        {
            Audit($"{kind.ToWire()}.{change.To.ToWire()}", request.AuditSubject, new
            {
                from = change.From.ToWire(),
                status = change.To.ToWire(),
                error = change.Error,
            }, change.At);
            var (from, to) = (change.From, change.To);
            WhenCommitted(() => ExchangeMetrics.RequestMoved(kind, from, to));
        }

        request.ClearPendingChanges();
    }

    /// <summary>Work to run once, when what this unit of work writes is committed; the transaction it belongs to (null: none yet).</summary>
    private List<(Guid? Transaction, Action Action)>? _whenCommitted;

    /// <summary>
    /// Runs <paramref name="action"/> once what is written now is committed: at the commit of the current
    /// transaction, or after the next SaveChanges when there is none. Dropped when that transaction rolls back,
    /// so <see cref="UnitOfWork.InTransactionAsync{T}"/> retrying a transaction runs it once. For what must not
    /// happen for work that never committed, such as a metric. It runs on the committing call: it must be quick
    /// and must not throw.
    /// </summary>
    public void WhenCommitted(Action action) => (_whenCommitted ??= []).Add((Database.CurrentTransaction?.TransactionId, action));

    /// <summary>The transaction committed (null: a SaveChanges without one): run its work.</summary>
    internal void RunCommitted(Guid? transaction)
    {
        if (_whenCommitted is not { Count: > 0 } pending)
        {
            return;
        }

        var due = pending.Where(p => p.Transaction == transaction).Select(p => p.Action).ToList();
        // Work of another transaction that ended without commit or rollback (disposed after an error) never runs.
        pending.RemoveAll(p => p.Transaction == transaction || (transaction is not null && p.Transaction is not null));
        foreach (var action in due)
        {
            action();
        }
    }

    internal void DropCommitted(Guid? transaction) => _whenCommitted?.RemoveAll(p => p.Transaction == transaction);

    protected override void OnConfiguring(DbContextOptionsBuilder optionsBuilder) =>
        optionsBuilder.AddInterceptors(CommitNotifier.Instance);

    private static readonly JsonSerializerOptions AuditJson = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    // One IEntityTypeConfiguration per entity, in Configurations/.
    protected override void OnModelCreating(ModelBuilder model) =>
        model.ApplyConfigurationsFromAssembly(typeof(ExchangeDbContext).Assembly);
}

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
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

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
            Audit($"{kind}.{change.To.ToWire()}", request.AuditSubject, new
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

    protected override void OnModelCreating(ModelBuilder model)
    {
        var status = new ValueConverter<RequestStatus, string>(s => s.ToWire(), s => RequestStatuses.Parse(s));

        model.Entity<Member>(e =>
        {
            e.ToTable("members", t => t.HasCheckConstraint("ck_members_handle_format", "handle ~ '^EX-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$'"));
            e.HasKey(m => m.Id);
            e.HasIndex(m => m.Subject).IsUnique();
            e.HasIndex(m => m.Email);
            e.HasIndex(m => m.Handle).IsUnique();
            e.Property(m => m.Handle).HasMaxLength(Exchange.Domain.Members.AccountHandle.Length);
            e.Property(m => m.Subject).HasMaxLength(255);
            e.Property(m => m.Name).HasMaxLength(255);
            e.Property(m => m.Email).HasMaxLength(320);
        });

        model.Entity<MemberRole>(e =>
        {
            e.ToTable("member_roles");
            e.HasKey(r => new { r.MemberId, r.Role });
            e.Property(r => r.Role).HasMaxLength(32);
            e.Property(r => r.Source).HasMaxLength(32);
            e.HasIndex(r => r.Role);
            e.HasOne<Member>().WithMany().HasForeignKey(r => r.MemberId);
        });

        model.Entity<OperatorAction>(e =>
        {
            e.ToTable("operator_actions");
            e.HasKey(a => a.Id);
            e.Property(a => a.Kind).HasConversion(new ValueConverter<OperatorActionKind, string>(k => k.ToWire(), s => Exchange.Domain.Operations.OperatorActions.ParseKind(s))).HasMaxLength(32);
            e.Property(a => a.Status).HasConversion(new ValueConverter<OperatorActionStatus, string>(k => k.ToWire(), s => Exchange.Domain.Operations.OperatorActions.ParseStatus(s))).HasMaxLength(32);
            e.Property(a => a.OperatorSubject).HasMaxLength(255);
            e.Property(a => a.TargetKind).HasMaxLength(16);
            e.Property(a => a.Reason).HasMaxLength(500);
            e.Property(a => a.Result).HasMaxLength(500);
            e.Property(a => a.Version).IsRowVersion();
            e.Ignore(a => a.AuditSubject);
            e.Ignore(a => a.TargetSubject);
            e.Ignore(a => a.IsEnded);
            e.HasIndex(a => new { a.TargetId, a.CreatedAt });
            e.HasIndex(a => new { a.Status, a.CreatedAt });
            // One action awaiting its tap per request: a second operator sees the first, not a race.
            e.HasIndex(a => a.TargetId).IsUnique().HasFilter("status = 'awaiting_tap'").HasDatabaseName("ix_operator_actions_one_awaiting_per_target");
            e.HasOne<Member>().WithMany().HasForeignKey(a => a.OperatorMemberId);
        });

        model.Entity<MemberToken>(e =>
        {
            e.ToTable("member_tokens");
            e.HasKey(t => t.MemberId);
            e.Property(t => t.Version).IsRowVersion();
            e.HasOne<Member>().WithOne().HasForeignKey<MemberToken>(t => t.MemberId);
        });

        model.Entity<Balance>(e =>
        {
            e.ToTable("balances", t =>
            {
                // The database itself refuses a negative balance, whatever the code does.
                t.HasCheckConstraint("ck_balances_available_not_negative", "available >= 0");
                t.HasCheckConstraint("ck_balances_held_not_negative", "held >= 0");
            });
            e.HasKey(b => new { b.MemberId, b.Asset });
            Money(e.Property(b => b.Available));
            Money(e.Property(b => b.Held));
            e.Property(b => b.Asset).HasMaxLength(16);
            e.Property(b => b.Version).IsRowVersion();
            e.HasOne<Member>().WithMany().HasForeignKey(b => b.MemberId);
        });

        model.Entity<JournalEntry>(e =>
        {
            e.ToTable("journal_entries");
            e.HasKey(j => j.Id);
            e.Property(j => j.Id).UseIdentityAlwaysColumn();
            e.Property(j => j.Kind).HasConversion(new ValueConverter<JournalKind, string>(k => JournalKinds.ToWire(k), s => JournalKinds.Parse(s))).HasMaxLength(32);
            e.Property(j => j.Asset).HasMaxLength(16);
            e.Property(j => j.AvailableDelta).HasColumnType("numeric(78,0)");
            e.Property(j => j.HeldDelta).HasColumnType("numeric(78,0)");
            e.HasIndex(j => new { j.MemberId, j.Asset });
            e.HasIndex(j => j.RequestId);
        });

        model.Entity<Withdrawal>(e =>
        {
            e.ToTable("withdrawals", t => t.HasCheckConstraint("ck_withdrawals_amount_positive", "amount > 0"));
            Request(e, status);
            e.Property(w => w.ToAddress).HasMaxLength(42);
            e.Property(w => w.TxHash).HasMaxLength(66);
            e.HasIndex(w => w.TxHash);
        });

        model.Entity<WithdrawalTransaction>(e =>
        {
            e.ToTable("withdrawal_transactions");
            e.HasKey(t => t.Id);
            e.Property(t => t.Id).UseIdentityAlwaysColumn();
            e.HasIndex(t => t.Hash).IsUnique();
            e.HasIndex(t => t.WithdrawalId);
            e.Property(t => t.Hash).HasMaxLength(66);
            e.HasOne<Withdrawal>().WithMany().HasForeignKey(t => t.WithdrawalId);
        });

        model.Entity<Transfer>(e =>
        {
            e.ToTable("transfers", t => t.HasCheckConstraint("ck_transfers_amount_positive", "amount > 0"));
            Request(e, status);
            e.HasOne<Member>().WithMany().HasForeignKey(t => t.ToMemberId);
        });

        model.Entity<Challenge>(e =>
        {
            e.ToTable("challenges");
            e.HasKey(c => c.Id);
            // Dedup by unique index: one challenge per request, and no id ever issued twice.
            e.HasIndex(c => c.IdHash).IsUnique();
            e.HasIndex(c => c.RequestId).IsUnique();
            e.HasIndex(c => c.VivoId);
            e.HasIndex(c => new { c.State, c.Deadline });
            // The reconciler's look-ups, as index range scans that cost the same at 1,000 open challenges as at
            // 100,000: the ones open past their deadline, and the ones whose next send is due.
            e.HasIndex(c => c.Deadline).HasFilter("state <> 'Ended'").HasDatabaseName("ix_challenges_open_by_deadline");
            e.HasIndex(c => c.NextSendAt).HasFilter("state = 'Sending'").HasDatabaseName("ix_challenges_sending_by_next_send_at");
            e.Property(c => c.State).HasConversion<string>().HasMaxLength(16);
            e.Property(c => c.RequestKind).HasMaxLength(16);
            e.Property(c => c.Outcome).HasMaxLength(32);
            e.Property(c => c.VivoId).HasMaxLength(256);
            e.Property(c => c.Message).HasMaxLength(64);
            e.Property(c => c.Version).IsRowVersion();
            e.Ignore(c => c.IsEnded);
        });

        model.Entity<AuditEvent>(e =>
        {
            e.ToTable("audit_events");
            e.HasKey(a => a.Seq);
            e.Property(a => a.Seq).UseIdentityAlwaysColumn();
            e.Property(a => a.Data).HasColumnType("jsonb");
            e.Property(a => a.Actor).HasMaxLength(300);
            e.Property(a => a.Action).HasMaxLength(100);
            e.Property(a => a.Subject).HasMaxLength(300);
            e.HasIndex(a => new { a.Subject, a.Seq });
            e.HasIndex(a => new { a.Actor, a.Seq });
            e.HasIndex(a => new { a.Action, a.Seq });
            e.HasIndex(a => a.At);
            e.HasIndex(a => a.ChainSeq).IsUnique();
            // Written by the sealer's SQL only; the application never changes an event through EF.
            e.Property(a => a.ChainSeq).ValueGeneratedNever();
        });

        model.Entity<HotWalletState>(e =>
        {
            e.ToTable("hot_wallets", t => t.HasCheckConstraint("ck_hot_wallets_nonce_not_negative", "next_nonce >= 0"));
            e.HasKey(w => w.Address);
            e.Property(w => w.Address).HasMaxLength(42);
        });

        model.Entity<IdempotencyRecord>(e =>
        {
            e.ToTable("idempotency_keys");
            e.HasKey(i => new { i.MemberId, i.Key });
            e.Property(i => i.Key).HasMaxLength(200);
            e.Property(i => i.Operation).HasMaxLength(100);
            e.Property(i => i.ResponseJson).HasColumnType("jsonb");
        });

        model.Entity<DataProtectionKey>().ToTable("data_protection_keys");
        model.ApplyConfiguration(new MemberSessionConfiguration());
    }

    private static void Money(PropertyBuilder property) => property.HasColumnType("numeric(78,0)");

    private static void Request<T>(EntityTypeBuilder<T> e, ValueConverter<RequestStatus, string> status)
        where T : ApprovalRequest
    {
        e.HasKey(r => r.Id);
        e.Property(r => r.Status).HasConversion(status).HasMaxLength(32);
        e.Property(r => r.Asset).HasMaxLength(16);
        Money(e.Property(r => r.Amount));
        e.Property(r => r.Version).IsRowVersion();
        e.Ignore(r => r.PendingChanges);
        e.Ignore(r => r.Kind);
        e.Ignore(r => r.AuditSubject);
        e.HasIndex(r => new { r.MemberId, r.CreatedAt });
        e.HasIndex(r => new { r.Status, r.UpdatedAt });
        e.HasOne<Member>().WithMany().HasForeignKey(r => r.MemberId);
    }
}

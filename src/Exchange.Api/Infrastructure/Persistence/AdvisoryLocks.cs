namespace Exchange.Api.Infrastructure.Persistence;

/// <summary>
/// Every PostgreSQL advisory-lock key the exchange takes, in one place so no two uses share a number by
/// accident. The values are what running instances already lock on: never renumber one, or an old and a
/// new instance in one rolling deploy would both hold "the" lock. Single-key locks pass the value as their
/// bigint key; <see cref="WithdrawalInWork"/> is the class (first int) of the two-key form, whose second key
/// names the withdrawal. The two forms are separate key spaces in PostgreSQL. Cast to a number before
/// formatting into SQL: an enum interpolates as its name.
/// </summary>
public enum AdvisoryLock : int
{
    /// <summary>One instance applies migrations at start-up at a time (session lock).</summary>
    Migrations = 7253017,

    /// <summary>One audit-chain sealer at a time (transaction lock); no writer of events ever takes it.</summary>
    AuditSealer = 7253018,

    /// <summary>One reconciler pass at a time across instances (session lock).</summary>
    ReconcilerPass = 7253019,

    /// <summary>A job is working on one withdrawal: pg_*advisory_lock(WithdrawalInWork, per-withdrawal key).</summary>
    WithdrawalInWork = 7253020,

    /// <summary>One confirmation watcher at a time; the others stand by (session lock, dies with its connection).</summary>
    ConfirmationWatcher = 7253021,
}

using Exchange.Domain.Challenges;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Api.Infrastructure.Persistence.Configurations;

public sealed class ChallengeConfiguration : IEntityTypeConfiguration<Challenge>
{
    public void Configure(EntityTypeBuilder<Challenge> e)
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
        e.Property(c => c.RequestKind).HasConversion(ApprovalRequestColumns.Kind).HasMaxLength(16);
        e.Property(c => c.Outcome).HasMaxLength(32);
        e.Property(c => c.VivoId).HasMaxLength(256);
        e.Property(c => c.VivoIds).HasColumnType("text[]");
        e.Property(c => c.Message).HasMaxLength(64);
        e.Property(c => c.Version).IsRowVersion();
        e.Ignore(c => c.IsEnded);
    }
}

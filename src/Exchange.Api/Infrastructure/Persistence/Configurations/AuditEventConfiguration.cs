using Exchange.Domain.Audit;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Api.Infrastructure.Persistence.Configurations;

public sealed class AuditEventConfiguration : IEntityTypeConfiguration<AuditEvent>
{
    public void Configure(EntityTypeBuilder<AuditEvent> e)
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
    }
}

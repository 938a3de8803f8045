using Exchange.Domain.Operations;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Exchange.Api.Infrastructure.Persistence.Configurations;

public sealed class OperatorActionConfiguration : IEntityTypeConfiguration<OperatorAction>
{
    public void Configure(EntityTypeBuilder<OperatorAction> e)
    {
        e.ToTable("operator_actions");
        e.HasKey(a => a.Id);
        e.Property(a => a.Kind).HasConversion(new ValueConverter<OperatorActionKind, string>(k => k.ToWire(), s => OperatorActions.ParseKind(s))).HasMaxLength(32);
        e.Property(a => a.Status).HasConversion(new ValueConverter<OperatorActionStatus, string>(k => k.ToWire(), s => OperatorActions.ParseStatus(s))).HasMaxLength(32);
        e.Property(a => a.OperatorSubject).HasMaxLength(255);
        e.Property(a => a.TargetKind).HasConversion(ApprovalRequestColumns.Kind).HasMaxLength(16);
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
    }
}

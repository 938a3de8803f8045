using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Api.Infrastructure.Persistence.Configurations;

public sealed class IdempotencyRecordConfiguration : IEntityTypeConfiguration<IdempotencyRecord>
{
    public void Configure(EntityTypeBuilder<IdempotencyRecord> e)
    {
        e.ToTable("idempotency_keys");
        e.HasKey(i => new { i.MemberId, i.Key });
        e.Property(i => i.Key).HasMaxLength(200);
        e.Property(i => i.Operation).HasMaxLength(100);
        e.Property(i => i.ResponseJson).HasColumnType("jsonb");
    }
}

using Exchange.Domain.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Exchange.Api.Infrastructure.Persistence.Configurations;

public sealed class JournalEntryConfiguration : IEntityTypeConfiguration<JournalEntry>
{
    public void Configure(EntityTypeBuilder<JournalEntry> e)
    {
        e.ToTable("journal_entries");
        e.HasKey(j => j.Id);
        e.Property(j => j.Id).UseIdentityAlwaysColumn();
        e.Property(j => j.Kind).HasConversion(new ValueConverter<JournalKind, string>(k => JournalKinds.ToWire(k), s => JournalKinds.Parse(s))).HasMaxLength(32);
        e.Property(j => j.Asset).HasMaxLength(16);
        e.Property(j => j.AvailableDelta).IsMoney();
        e.Property(j => j.HeldDelta).IsMoney();
        e.HasIndex(j => new { j.MemberId, j.Asset });
        e.HasIndex(j => j.RequestId);
    }
}

using Exchange.Domain.Ledger;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Api.Infrastructure.Persistence.Configurations;

public sealed class BalanceConfiguration : IEntityTypeConfiguration<Balance>
{
    public void Configure(EntityTypeBuilder<Balance> e)
    {
        e.ToTable("balances", t =>
        {
            // The database itself refuses a negative balance, whatever the code does.
            t.HasCheckConstraint("ck_balances_available_not_negative", "available >= 0");
            t.HasCheckConstraint("ck_balances_held_not_negative", "held >= 0");
        });
        e.HasKey(b => new { b.MemberId, b.Asset });
        e.Property(b => b.Available).IsMoney();
        e.Property(b => b.Held).IsMoney();
        e.Property(b => b.Asset).HasMaxLength(16);
        e.Property(b => b.Version).IsRowVersion();
        e.HasOne<Member>().WithMany().HasForeignKey(b => b.MemberId);
    }
}

using Exchange.Domain.Withdrawals;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Api.Infrastructure.Persistence.Configurations;

public sealed class WithdrawalConfiguration : IEntityTypeConfiguration<Withdrawal>
{
    public void Configure(EntityTypeBuilder<Withdrawal> e)
    {
        e.ToTable("withdrawals", t => t.HasCheckConstraint("ck_withdrawals_amount_positive", "amount > 0"));
        e.ConfigureApprovalRequest();
        e.Property(w => w.ToAddress).HasMaxLength(42);
        e.Property(w => w.TxHash).HasMaxLength(66);
        e.HasIndex(w => w.TxHash);
    }
}

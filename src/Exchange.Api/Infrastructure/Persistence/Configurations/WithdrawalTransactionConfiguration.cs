using Exchange.Domain.Withdrawals;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Api.Infrastructure.Persistence.Configurations;

public sealed class WithdrawalTransactionConfiguration : IEntityTypeConfiguration<WithdrawalTransaction>
{
    public void Configure(EntityTypeBuilder<WithdrawalTransaction> e)
    {
        e.ToTable("withdrawal_transactions");
        e.HasKey(t => t.Id);
        e.Property(t => t.Id).UseIdentityAlwaysColumn();
        e.HasIndex(t => t.Hash).IsUnique();
        e.HasIndex(t => t.WithdrawalId);
        e.Property(t => t.Hash).HasMaxLength(66);
        e.HasOne<Withdrawal>().WithMany().HasForeignKey(t => t.WithdrawalId);
    }
}

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Api.Infrastructure.Persistence.Configurations;

public sealed class HotWalletStateConfiguration : IEntityTypeConfiguration<HotWalletState>
{
    public void Configure(EntityTypeBuilder<HotWalletState> e)
    {
        e.ToTable("hot_wallets", t => t.HasCheckConstraint("ck_hot_wallets_nonce_not_negative", "next_nonce >= 0"));
        e.HasKey(w => w.Address);
        e.Property(w => w.Address).HasMaxLength(42);
    }
}

using Exchange.Domain.Transfers;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Api.Infrastructure.Persistence.Configurations;

public sealed class TransferConfiguration : IEntityTypeConfiguration<Transfer>
{
    public void Configure(EntityTypeBuilder<Transfer> e)
    {
        e.ToTable("transfers", t => t.HasCheckConstraint("ck_transfers_amount_positive", "amount > 0"));
        e.ConfigureApprovalRequest();
        e.HasOne<Member>().WithMany().HasForeignKey(t => t.ToMemberId);
    }
}

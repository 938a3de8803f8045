using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Api.Infrastructure.Persistence.Configurations;

public sealed class MemberSessionConfiguration : IEntityTypeConfiguration<MemberSession>
{
    public void Configure(EntityTypeBuilder<MemberSession> e)
    {
        e.ToTable("member_sessions");
        e.HasKey(s => s.Id);
        e.HasIndex(s => s.MemberId);
        e.HasOne<Member>().WithMany().HasForeignKey(s => s.MemberId);
    }
}

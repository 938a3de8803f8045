using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Api.Infrastructure.Persistence.Configurations;

public sealed class MemberTokenConfiguration : IEntityTypeConfiguration<MemberToken>
{
    public void Configure(EntityTypeBuilder<MemberToken> e)
    {
        e.ToTable("member_tokens");
        e.HasKey(t => t.MemberId);
        e.Property(t => t.Version).IsRowVersion();
        e.HasOne<Member>().WithOne().HasForeignKey<MemberToken>(t => t.MemberId);
    }
}

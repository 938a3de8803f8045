using Exchange.Domain.Challenges;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Exchange.Api.Infrastructure.Persistence.Configurations;

public sealed class RetiredChallengeIdConfiguration : IEntityTypeConfiguration<RetiredChallengeId>
{
    public void Configure(EntityTypeBuilder<RetiredChallengeId> e)
    {
        e.ToTable("retired_challenge_ids");
        e.HasKey(r => r.IdHash);
        e.HasIndex(r => r.ChallengeId);
        e.Property(r => r.Reason).HasMaxLength(32);
        e.HasOne<Challenge>().WithMany().HasForeignKey(r => r.ChallengeId);
    }
}

using System.Net;
using System.Numerics;
using Exchange.Api.Features.Withdrawals;
using Exchange.Api.Infrastructure.Jobs;
using Exchange.Api.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Exchange.Api.Tests;

/// <summary>
/// The application's database role can write every row the signer reads: the status, the challenge's outcome.
/// What it cannot write is the approval proof a real success callback leaves (a MAC under a key the database
/// never holds), and the evidence rows themselves cannot be rewritten or removed.
/// </summary>
public sealed class ApprovalProofTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    [Fact]
    public async Task A_withdrawal_whose_challenge_is_written_as_a_success_in_the_database_is_not_signed()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("5");
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var nonceBefore = await system.HotWalletNonceAsync();

        // No tap: the application's role ends the challenge in success and approves the row, as a callback would.
        await Sql.ExecuteAsync(system.ConnectionString, $"""
            UPDATE challenges SET state = 'Ended', outcome = 'success', ended_at = now(), sealed_id = NULL WHERE request_id = '{id}';
            UPDATE withdrawals SET status = 'approved' WHERE id = '{id}';
            """);
        await system.InScopeAsync(async (_, services) =>
        {
            await services.GetRequiredService<DriveWithdrawal>().RunAsync(id, CancellationToken.None);
            return true;
        });

        Assert.Equal("tampered", (await trader.WithdrawalAsync(id))["status"]!.GetValue<string>());
        Assert.Equal(nonceBefore, await system.HotWalletNonceAsync());
        Assert.Equal(0, await system.InScopeAsync((db, _) => db.WithdrawalTransactions.CountAsync(t => t.WithdrawalId == id)));
        var error = Assert.Single(await system.InScopeAsync((db, _) => db.AuditEvents.AsNoTracking()
            .Where(a => a.Subject == $"withdrawal:{id}" && a.Action == "withdrawal.tampered").Select(a => a.Data).ToListAsync()));
        // Every other check passes: the message, the hold and the challenge's outcome are what a tap leaves.
        Assert.Contains(SigningEvidence.ApprovalProven, error, StringComparison.Ordinal);
        Assert.DoesNotContain(SigningEvidence.ChallengeSucceeded, error, StringComparison.Ordinal);
        Assert.DoesNotContain(SigningEvidence.MessageMatches, error, StringComparison.Ordinal);
        Assert.DoesNotContain(SigningEvidence.HoldInJournal, error, StringComparison.Ordinal);
        Assert.Equal(("4", "1"), await trader.BalanceAsync());
    }

    [Fact]
    public async Task A_tapped_withdrawal_carries_the_proof_and_is_signed()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("5");
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync((await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>()));

        await trader.WaitForWithdrawalAsync(id, "confirmed");
        var proof = await system.InScopeAsync((db, _) => db.Challenges.AsNoTracking().Where(c => c.RequestId == id).Select(c => c.ApprovalProof).SingleAsync());
        Assert.Equal(32, proof!.Length);
    }

    [Theory]
    [InlineData("UPDATE challenges SET message = 'Withdraw 1 ETH to 0x000000000000…000000000000' WHERE request_id = '{0}'", "may not change what it showed")]
    [InlineData("UPDATE challenges SET member_id = gen_random_uuid() WHERE request_id = '{0}'", "may not change what it showed")]
    [InlineData("UPDATE challenges SET id_hash = sha256(id_hash) WHERE request_id = '{0}'", "may change its id only while open")]
    [InlineData("UPDATE challenges SET outcome = 'declined' WHERE request_id = '{0}'", "has ended")]
    [InlineData("UPDATE challenges SET approval_proof = NULL WHERE request_id = '{0}'", "has ended")]
    [InlineData("UPDATE journal_entries SET held_delta = held_delta * 10 WHERE request_id = '{0}'", "the journal is append-only")]
    [InlineData("DELETE FROM journal_entries WHERE request_id = '{0}'", "the journal is append-only")]
    [InlineData("DELETE FROM withdrawals WHERE id = '{0}'", "a withdrawal is never deleted")]
    public async Task The_evidence_behind_a_withdrawal_cannot_be_rewritten_or_removed(string statement, string refusal)
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("5");
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync((await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>()));
        await trader.WaitForWithdrawalAsync(id, "confirmed");
        var before = await EvidenceAsync(id);

        var refused = await Assert.ThrowsAsync<PostgresException>(() => Sql.ExecuteAsync(system.ConnectionString, string.Format(System.Globalization.CultureInfo.InvariantCulture, statement, id)));

        Assert.Contains(refusal, refused.MessageText, StringComparison.Ordinal);
        Assert.Equal(before, await EvidenceAsync(id));
    }

    [Fact]
    public async Task A_transfer_is_never_deleted()
    {
        using var sender = await system.NewTraderAsync();
        using var receiver = await system.NewTraderAsync();
        await sender.CreditAsync("5");
        using var response = await sender.TransferAsync("1", receiver.Subject);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var count = await system.InScopeAsync((db, _) => db.Transfers.CountAsync());

        var refused = await Assert.ThrowsAsync<PostgresException>(() => Sql.ExecuteAsync(system.ConnectionString, "DELETE FROM transfers"));

        Assert.Contains("a transfer is never deleted", refused.MessageText, StringComparison.Ordinal);
        Assert.Equal(count, await system.InScopeAsync((db, _) => db.Transfers.CountAsync()));
    }

    private Task<string> EvidenceAsync(Guid id) => system.InScopeAsync(async (db, _) =>
    {
        var challenge = await db.Challenges.AsNoTracking().SingleAsync(c => c.RequestId == id);
        var journal = await db.JournalEntries.AsNoTracking().Where(j => j.RequestId == id).OrderBy(j => j.Id)
            .Select(j => j.Kind + ":" + j.HeldDelta + ":" + j.AvailableDelta).ToListAsync();
        var withdrawals = await db.Withdrawals.CountAsync(w => w.Id == id);
        return string.Join("|", challenge.Message, challenge.MemberId, challenge.Outcome, Convert.ToBase64String(challenge.ApprovalProof ?? []), withdrawals, string.Join(",", journal));
    });


}

using System.Net;
using System.Numerics;
using Exchange.Api.Features.Operations;
using Exchange.Api.Features.Withdrawals;
using Exchange.Api.Infrastructure.Jobs;
using Exchange.Api.Infrastructure.VivoKey;
using Exchange.Api.Tests.Support;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Exchange.Api.Tests;

/// <summary>
/// An attacker with the application's database role writes "approved" on a row, or changes what a tapped row
/// says: the signer checks the evidence (the tap, the message, the hold) and signs nothing it does not prove.
/// Money columns cannot change after insert at all.
/// </summary>
public sealed class SigningEvidenceTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    [Fact]
    public async Task A_pending_withdrawal_set_to_approved_in_the_database_is_not_signed_but_marked_tampered()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("5");
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var nonceBefore = await system.HotWalletNonceAsync();

        // No tap: the application's role writes the status itself.
        await Sql.ExecuteAsync(system.ConnectionString, $"UPDATE withdrawals SET status = 'approved' WHERE id = '{id}'");
        await system.InScopeAsync(async (_, services) =>
        {
            await services.GetRequiredService<DriveWithdrawal>().RunAsync(id, CancellationToken.None);
            return true;
        });

        Assert.Equal("tampered", (await trader.WithdrawalAsync(id))["status"]!.GetValue<string>());
        Assert.Equal(nonceBefore, await system.HotWalletNonceAsync());
        Assert.Equal(0, await system.InScopeAsync((db, _) => db.WithdrawalTransactions.CountAsync(t => t.WithdrawalId == id)));
        var error = await TamperedErrorAsync(id);
        Assert.Contains(SigningEvidence.ChallengeSucceeded, error, StringComparison.Ordinal);
        Assert.DoesNotContain(SigningEvidence.HoldInJournal, error, StringComparison.Ordinal);
        // Nothing is given back automatically: an operator decides.
        Assert.Equal(("4", "1"), await trader.BalanceAsync());
        var report = await system.InScopeAsync((_, services) => services.GetRequiredService<InvariantChecker>().CheckAsync(CancellationToken.None));
        Assert.DoesNotContain(report.Invariants.Single(i => i.Name == "holds_released_exactly_once").Offending, o => o.Contains(id.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_tapped_withdrawal_whose_amount_was_raised_behind_the_trigger_is_marked_tampered_not_signed()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("5");
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var nonceBefore = await system.HotWalletNonceAsync();

        // The owner lifts the immutability trigger for a moment; the application's role raises the amount tenfold.
        await SetImmutabilityAsync(enabled: false);
        try
        {
            await Sql.ExecuteAsync(system.ConnectionString, $"UPDATE withdrawals SET amount = amount * 10 WHERE id = '{id}'");
        }
        finally
        {
            await SetImmutabilityAsync(enabled: true);
        }

        // The member taps for what their phone shows: 1 ETH.
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync((await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>()));

        await trader.WaitForWithdrawalAsync(id, "tampered");
        Assert.Equal(nonceBefore, await system.HotWalletNonceAsync());
        var error = await TamperedErrorAsync(id);
        Assert.Contains(SigningEvidence.MessageMatches, error, StringComparison.Ordinal);
        Assert.Contains(SigningEvidence.HoldInJournal, error, StringComparison.Ordinal);
        Assert.DoesNotContain(SigningEvidence.ChallengeSucceeded, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tapped_withdrawal_whose_hold_is_missing_from_the_journal_is_marked_tampered_not_signed()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("5");
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var nonceBefore = await system.HotWalletNonceAsync();

        // The journal is append-only for every role; the owner lifts that for a moment, as an attacker who got round it.
        await Sql.ExecuteAsync(system.OwnerConnectionString, $"""
            ALTER TABLE journal_entries DISABLE TRIGGER journal_entries_append_only;
            DELETE FROM journal_entries WHERE request_id = '{id}';
            ALTER TABLE journal_entries ENABLE TRIGGER journal_entries_append_only;
            """);
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync((await system.PendingChallengeAsync(trader.Subject))["vivo_id"]!.GetValue<string>()));

        await trader.WaitForWithdrawalAsync(id, "tampered");
        Assert.Equal(nonceBefore, await system.HotWalletNonceAsync());
        Assert.Equal(0, await system.InScopeAsync((db, _) => db.WithdrawalTransactions.CountAsync(t => t.WithdrawalId == id)));
        var error = await TamperedErrorAsync(id);
        Assert.Contains(SigningEvidence.HoldInJournal, error, StringComparison.Ordinal);
        Assert.DoesNotContain(SigningEvidence.MessageMatches, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_approved_withdrawal_whose_address_is_not_an_address_is_marked_tampered_and_the_rest_of_its_batch_is_signed()
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("5");
        var bad = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var good = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        await Poll.UntilAsync(() => system.InScopeAsync((db, _) => db.Challenges.CountAsync(c => (c.RequestId == bad || c.RequestId == good) && c.State == ChallengeState.Accepted)),
            n => n == 2, "both challenges to be with VivoKey");

        // Both tapped, as the tap writes it, and not yet signed; the owner, past the triggers, breaks one row's address.
        await Sql.ExecuteAsync(system.OwnerConnectionString, $"""
            SET session_replication_role = replica;
            UPDATE challenges SET state = 'Ended', outcome = 'success', ended_at = now() WHERE request_id IN ('{bad}', '{good}');
            UPDATE withdrawals SET status = 'approved', updated_at = now() WHERE id IN ('{bad}', '{good}');
            UPDATE withdrawals SET to_address = '0x-not-an-address' WHERE id = '{bad}';
            """);
        // What the success callback would have left on the good one: its approval proof (the key is the exchange's).
        var proof = await system.InScopeAsync(async (db, services) => services.GetRequiredService<ChallengeKeys>().ProveApproval(
            await db.Challenges.AsNoTracking().SingleAsync(c => c.RequestId == good), await db.Withdrawals.AsNoTracking().SingleAsync(w => w.Id == good)));
        await Sql.ExecuteAsync(system.OwnerConnectionString,
            $"SET session_replication_role = replica; UPDATE challenges SET approval_proof = '\\x{Convert.ToHexString(proof)}'::bytea WHERE request_id = '{good}'");

        // One signing transaction for both: the broken row must not take the other down with it.
        var signed = await system.InScopeAsync((_, services) => services.GetRequiredService<SignApproved>().SignAsync([bad, good], CancellationToken.None));

        Assert.Equal([good], signed);
        Assert.Equal(RequestStatus.Tampered, await system.InScopeAsync((db, _) => db.Withdrawals.Where(w => w.Id == bad).Select(w => w.Status).SingleAsync()));
        Assert.Contains(SigningEvidence.MessageMatches, await TamperedErrorAsync(bad), StringComparison.Ordinal);
        Assert.Equal(0, await system.InScopeAsync((db, _) => db.WithdrawalTransactions.CountAsync(t => t.WithdrawalId == bad)));
        await system.InScopeAsync(async (_, services) =>
        {
            await services.GetRequiredService<DriveWithdrawal>().RunAsync(good, CancellationToken.None);
            return true;
        });
        await trader.WaitForWithdrawalAsync(good, "confirmed");
    }

    [Theory]
    [InlineData("amount", "amount = amount * 10")]
    [InlineData("to_address", "to_address = '0x000000000000000000000000000000000000dEaD'")]
    [InlineData("asset", "asset = 'BTC'")]
    [InlineData("member_id", "member_id = gen_random_uuid()")]
    public async Task The_money_columns_of_a_withdrawal_cannot_change_after_insert(string column, string change)
    {
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("5");
        var id = await trader.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
        var before = await RowAsync($"SELECT member_id || ' ' || asset || ' ' || amount || ' ' || to_address FROM withdrawals WHERE id = '{id}'");

        var refused = await Assert.ThrowsAsync<PostgresException>(() =>
            Sql.ExecuteAsync(system.ConnectionString, $"UPDATE withdrawals SET {change}, status = 'approved' WHERE id = '{id}'"));

        Assert.Contains($"immutable_requests: withdrawals.{column}", refused.MessageText, StringComparison.Ordinal);
        Assert.Equal(before, await RowAsync($"SELECT member_id || ' ' || asset || ' ' || amount || ' ' || to_address FROM withdrawals WHERE id = '{id}'"));
        Assert.Equal("pending_approval", (await trader.WithdrawalAsync(id))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_money_columns_of_a_transfer_cannot_change_after_insert()
    {
        using var sender = await system.NewTraderAsync();
        using var receiver = await system.NewTraderAsync();
        var id = Guid.NewGuid();
        await Sql.ExecuteAsync(system.ConnectionString, $"""
            INSERT INTO transfers (id, member_id, to_member_id, asset, amount, status, created_at, updated_at)
            SELECT '{id}', s.id, r.id, 'ETH', 1000, 'pending_approval', now(), now()
            FROM members s, members r WHERE s.subject = '{sender.Subject}' AND r.subject = '{receiver.Subject}'
            """);
        var row = $"SELECT member_id || ' ' || to_member_id || ' ' || asset || ' ' || amount FROM transfers WHERE id = '{id}'";
        var before = await RowAsync(row);

        foreach (var (column, change) in new[] { ("amount", "amount = amount * 10"), ("to_member_id", "to_member_id = member_id"), ("member_id", "member_id = to_member_id"), ("asset", "asset = 'BTC'") })
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => Sql.ExecuteAsync(system.ConnectionString, $"UPDATE transfers SET {change} WHERE id = '{id}'"));
            Assert.Contains($"immutable_requests: transfers.{column}", refused.MessageText, StringComparison.Ordinal);
        }

        Assert.Equal(before, await RowAsync(row));
        // Everything else still changes as the flow needs.
        await Sql.ExecuteAsync(system.ConnectionString, $"UPDATE transfers SET status = 'cancelled', updated_at = now() WHERE id = '{id}'");
    }

    private async Task<string> TamperedErrorAsync(Guid id)
    {
        var events = await system.InScopeAsync((db, _) => db.AuditEvents.AsNoTracking()
            .Where(a => a.Subject == $"withdrawal:{id}" && a.Action == "withdrawal.tampered").Select(a => a.Data).ToListAsync());
        return Assert.Single(events);
    }


    /// <summary>Disables or enables the immutability trigger as the schema's owner (a no-op where there is none).</summary>
    private Task SetImmutabilityAsync(bool enabled) => Sql.ExecuteAsync(system.OwnerConnectionString, $"""
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'withdrawals_immutable_money') THEN
                ALTER TABLE withdrawals {(enabled ? "ENABLE" : "DISABLE")} TRIGGER withdrawals_immutable_money;
            END IF;
        END $$
        """);


    private async Task<string?> RowAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (string?)await command.ExecuteScalarAsync();
    }
}

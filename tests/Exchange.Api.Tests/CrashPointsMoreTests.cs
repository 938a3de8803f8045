using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Exchange.Api.Tests.Support;
using Xunit.Abstractions;

namespace Exchange.Api.Tests;

/// <summary>
/// Processes on an anvil of their own, whose mining a test stops; a transaction unmined for 2 s is replaced. With no
/// blocks, only the watcher's look at what sat unmined for Ethereum:RebroadcastAfterSeconds replaces it: 2 s too.
/// </summary>
public sealed class CrashPointsFixture : ExchangeFixture
{
    protected override bool StartsExchangeInProcess => false;

    protected override bool OwnsAnvil => true;

    protected override void Configure(IDictionary<string, string?> exchange)
    {
        exchange["Ethereum:ReplaceAfterSeconds"] = "2";
        exchange["Ethereum:RebroadcastAfterSeconds"] = "2";
    }
}

/// <summary>
/// kill -9 inside the work that follows a tap (fee replacement, a transfer's settlement, an operator's
/// action) and inside the audit sealer: the process dies at the point, is started again on the same
/// database and chain, and each outcome happens once, with check-invariants holding.
/// </summary>
[Collection(ProcessesCollection.Name)]
public sealed class CrashPointsMoreTests(CrashPointsFixture system, ITestOutputHelper output) : IClassFixture<CrashPointsFixture>
{
    [Fact]
    public async Task Killed_after_a_replacement_is_stored_and_before_it_is_sent_the_withdrawal_lands_once_by_a_replacement()
    {
        var processes = new ProcessChecks(system, output, Crashing("after-replacement-stored"));
        var to = ExchangeFixture.NewAddress();
        await using var first = await processes.StartAsync();
        using var trader = await system.NewTraderAsync();
        await trader.CreditAsync("3");
        Guid id;
        string original;
        await SetMiningAsync(false);
        try
        {
            id = await trader.AcceptedWithdrawalAsync("1", to);
            // Nothing is mined: 2 s after the broadcast a replacement is stored, and the process dies before sending it.
            await processes.UntilKilledAsync(first, "after-replacement-stored", trader.Subject);
            var hashes = await processes.HashesAsync(id);
            Assert.Equal(2, hashes.Count);
            original = hashes[0];
            Assert.Equal(hashes[1], await processes.ScalarAsync<string>($"SELECT tx_hash FROM withdrawals WHERE id = '{id}'"));
            Assert.True(await KnownToNodeAsync(original), "the node never had the original");
            Assert.False(await KnownToNodeAsync(hashes[1]), "the replacement reached the node before the crash point");

            // The node forgets the original: only a replacement, sent by the restarted process, can land the withdrawal.
            await system.Anvil.RpcAsync("anvil_dropTransaction", original);
        }
        finally
        {
            await SetMiningAsync(true);
        }

        await using var second = await processes.StartAsync();
        await processes.UntilAsync($"SELECT status FROM withdrawals WHERE id = '{id}'", "confirmed", "the withdrawal to be confirmed after the restart");

        // Exactly one of the withdrawal's hashes is mined: a replacement, the one the withdrawal names.
        var mined = new List<string>();
        foreach (var hash in await processes.HashesAsync(id))
        {
            if (await system.Anvil.GetTransactionReceiptAsync(hash) is { } receipt && receipt.GetValueKind() != JsonValueKind.Null)
            {
                mined.Add(hash);
            }
        }

        var landed = Assert.Single(mined);
        Assert.NotEqual(original, landed, StringComparer.OrdinalIgnoreCase);
        Assert.Equal(landed, await processes.ScalarAsync<string>($"SELECT tx_hash FROM withdrawals WHERE id = '{id}'"), StringComparer.OrdinalIgnoreCase);
        Assert.Equal(ExchangeFixture.Ether, await system.Anvil.GetBalanceAsync(to));
        // Confirmed once: one confirmation in the trail, one posting out of the exchange, and the balance says so.
        Assert.Equal(1L, await processes.AuditCountAsync($"withdrawal:{id}", "withdrawal.confirmed"));
        Assert.Equal(1L, await processes.JournalCountAsync(id, "withdrawal_out"));
        Assert.Equal(("2", "0"), await trader.BalanceAsync());
        await processes.AssertInvariantsHoldAsync();
    }

    [Fact]
    public async Task Killed_after_a_transfer_settles_and_before_VivoKey_is_answered_it_stays_settled_once()
    {
        var processes = new ProcessChecks(system, output, Crashing("after-transfer-settled"));
        await using var first = await processes.StartAsync();
        using var sender = await system.NewTraderAsync();
        using var receiver = await system.NewTraderAsync();
        await sender.CreditAsync("5");
        using var response = await sender.TransferAsync("2", receiver.Handle);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
        var id = JsonNode.Parse(body)!["id"]!.GetValue<Guid>();
        await processes.UntilKilledAsync(first, "after-transfer-settled", sender.Subject);

        // Committed before the kill.
        Assert.Equal("confirmed", await processes.ScalarAsync<string>($"SELECT status FROM transfers WHERE id = '{id}'"));

        await using var second = await processes.StartAsync();
        Assert.Equal("confirmed", (await sender.TransferAsync(id))["status"]!.GetValue<string>());
        Assert.Equal(("3", "0"), await sender.BalanceAsync());
        Assert.Equal(("2", "0"), await receiver.BalanceAsync());
        Assert.Equal(1L, await processes.JournalCountAsync(id, "transfer_out"));
        Assert.Equal(1L, await processes.JournalCountAsync(id, "transfer_in"));
        Assert.Equal(1L, await processes.AuditCountAsync($"transfer:{id}", "transfer.confirmed"));
        await processes.AssertInvariantsHoldAsync();
    }

    [Fact]
    public async Task Killed_after_an_operators_action_commits_it_is_executed_once_and_its_effect_happens_once()
    {
        var processes = new ProcessChecks(system, output, Crashing("after-operator-action"));
        await using var first = await processes.StartAsync();
        using var trader = await system.NewTraderAsync();
        using var ops = await system.NewTraderAsync("Olga Operator", "operator-1");
        await trader.CreditAsync("5");
        var withdrawal = await trader.AcceptedWithdrawalAsync("2", ExchangeFixture.NewAddress());
        // VivoKey has the trader's challenge (never tapped): the request waits where an operator would cancel it.
        await processes.PendingChallengesAsync(trader.Subject, _ => true);
        using var response = await ops.SendAsync("/api/operations/actions", new { action = "cancel", requestId = withdrawal, reason = "Trader asked support to stop it" });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
        var asked = JsonNode.Parse(body)!;
        var action = asked["id"]!.GetValue<Guid>();
        var message = asked["challengeMessage"]!.GetValue<string>();
        var challenge = (await processes.PendingChallengesAsync("operator-1", c => c["message"]!.GetValue<string>() == message))[0]!;
        Assert.Equal(HttpStatusCode.OK, await system.TapAsync(challenge["vivo_id"]!.GetValue<string>()));
        await processes.UntilKilledAsync(first, "after-operator-action", null);

        await using var second = await processes.StartAsync();
        Assert.Equal("executed", (await ops.Http.GetFromJsonAsync<JsonObject>($"/api/operations/actions/{action}"))!["status"]!.GetValue<string>());
        Assert.Equal("cancelled", (await trader.WithdrawalAsync(withdrawal))["status"]!.GetValue<string>());
        Assert.Equal(("5", "0"), await trader.BalanceAsync());
        Assert.Equal(1L, await processes.AuditCountAsync($"operator_action:{action}", "operator_action.executed"));
        Assert.Equal(1L, await processes.AuditCountAsync($"withdrawal:{withdrawal}", "withdrawal.cancelled"));
        Assert.Equal(1L, await processes.JournalCountAsync(withdrawal, "release"));
        await processes.AssertInvariantsHoldAsync();
    }

    [Fact]
    public async Task Killed_inside_a_seal_pass_the_restarted_sealer_links_every_event_once_and_the_chain_verifies()
    {
        var settings = Crashing("mid-seal");
        var processes = new ProcessChecks(system, output, settings);
        await using (var first = ExchangeProcess.Start(settings))
        {
            // Refused callbacks are audited: events to seal whatever this database holds already (its first pass may kill it before it is live).
            await processes.UntilKilledAsync(first, "mid-seal", null, () => ForgedCallbackAsync(swallowFailure: true));
        }

        // The pass died with its transaction: its batch is still unsealed, and the recorded head is still the chain's last link.
        Assert.True(await processes.ScalarAsync<long>("SELECT count(*) FROM audit_events WHERE chain_seq IS NULL") > 0);
        Assert.Equal(
            await processes.ScalarAsync<long>("SELECT coalesce(max(chain_seq), 0) FROM audit_events"),
            await processes.ScalarAsync<long>("SELECT coalesce((SELECT chain_seq FROM audit_chain_head WHERE id = 1), 0)"));

        await using (var second = await processes.StartAsync())
        {
            await ForgedCallbackAsync(swallowFailure: false);
            await processes.UntilAsync("SELECT count(*)::text FROM audit_events WHERE chain_seq IS NULL", "0", "every event to be sealed after the restart");
        }

        // Each event linked once: chain sequences 1..n, no gap, no repeat, and the head at n.
        var events = await processes.ScalarAsync<long>("SELECT count(*) FROM audit_events");
        Assert.Equal(events, await processes.ScalarAsync<long>("SELECT count(DISTINCT chain_seq) FROM audit_events"));
        Assert.Equal(events, await processes.ScalarAsync<long>("SELECT max(chain_seq) FROM audit_events"));
        Assert.Equal(1L, await processes.ScalarAsync<long>("SELECT min(chain_seq) FROM audit_events"));
        Assert.Equal(events, await processes.ScalarAsync<long>("SELECT chain_seq FROM audit_chain_head WHERE id = 1"));
        await processes.AssertInvariantsHoldAsync();
    }

    private Dictionary<string, string?> Crashing(string point)
    {
        var settings = system.ExchangeSettings();
        settings["Exchange:CrashAt"] = point;
        settings["Exchange:CrashMarker"] = Path.Combine(Path.GetTempPath(), $"exchange-crash-{Guid.NewGuid():N}");
        return settings;
    }

    private async Task ForgedCallbackAsync(bool swallowFailure)
    {
        using var http = new HttpClient { BaseAddress = new Uri(system.ExchangeUrl), Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.PostAsJsonAsync("/vivokey/callback", new { success = true, id = "forged-" + Guid.NewGuid().ToString("N") });
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
        catch (Exception e) when (swallowFailure && e is HttpRequestException or TaskCanceledException)
        {
            // The process is not live yet, or has just died at the crash point.
        }
    }

    private async Task<bool> KnownToNodeAsync(string hash) =>
        await system.Anvil.RpcAsync("eth_getTransactionByHash", hash) is { } tx && tx.GetValueKind() != JsonValueKind.Null;

    private async Task SetMiningAsync(bool on)
    {
        if (on)
        {
            await system.Anvil.RpcAsync("evm_setIntervalMining", 1);
            return;
        }

        await system.Anvil.RpcAsync("evm_setAutomine", false);
        await system.Anvil.RpcAsync("evm_setIntervalMining", 0);
    }
}

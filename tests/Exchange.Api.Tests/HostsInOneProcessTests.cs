using System.Net;
using Exchange.Api.Tests.Support;

namespace Exchange.Api.Tests;

/// <summary>
/// Hangfire keeps one log provider for the whole process. The tests run many hosts in one process and dispose
/// each when its class ends; a host that made its job client after another host had set that provider and gone
/// once answered every money request with 500 (the provider's logger factory was disposed).
/// </summary>
public sealed class HostsInOneProcessTests(ExchangeFixture system) : IClassFixture<ExchangeFixture>
{
    [Fact]
    public async Task A_host_started_and_disposed_beside_this_one_leaves_its_requests_working()
    {
        // Another host starts after this one (its Hangfire servers set the process-wide provider) and is disposed.
        var other = new ExchangeFixture();
        await other.InitializeAsync();
        await other.DisposeAsync();

        // This host's first transfer and withdrawal make its job client now, after the other host is gone.
        using var sender = await system.NewTraderAsync();
        using var receiver = await system.NewTraderAsync();
        await sender.CreditAsync("3");
        using (var transfer = await sender.TransferAsync("1", receiver.Handle))
        {
            Assert.Equal(HttpStatusCode.Accepted, transfer.StatusCode);
        }

        await sender.AcceptedWithdrawalAsync("1", ExchangeFixture.NewAddress());
    }
}

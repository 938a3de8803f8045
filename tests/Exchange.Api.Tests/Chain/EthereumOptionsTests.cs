using Exchange.Api.Infrastructure.Chain;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Exchange.Api.Tests.Chain;

public class EthereumOptionsTests
{
    [Fact]
    public void The_section_binds_and_the_chain_services_resolve_from_it()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Ethereum:RpcUrl"] = "http://127.0.0.1:1",
            ["Ethereum:ChainId"] = "1",
            ["Ethereum:Confirmations"] = "12",
            ["Ethereum:MaxPriorityFeePerGasWei"] = "2000000000",
        }).Build();
        var services = new ServiceCollection();
        services.Configure<EthereumOptions>(configuration.GetSection(EthereumOptions.SectionName));
        services.AddSingleton<HotWallet>();
        services.AddSingleton<EthereumChain>();
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<EthereumOptions>>().Value;
        Assert.Equal(("http://127.0.0.1:1", 1L, 12, (long?)2_000_000_000), (options.RpcUrl, options.ChainId, options.Confirmations, options.MaxPriorityFeePerGasWei));
        Assert.Equal("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", provider.GetRequiredService<HotWallet>().Address);
        Assert.NotNull(provider.GetRequiredService<EthereumChain>());
    }

    [Fact]
    public void Defaults_suit_a_local_anvil()
    {
        var options = new EthereumOptions();

        Assert.Equal(("http://127.0.0.1:8545", 31337L, 1, 21000L, (long?)null, 13, 30),
            (options.RpcUrl, options.ChainId, options.Confirmations, options.GasLimit, options.MaxPriorityFeePerGasWei, options.FeeBumpPercent, options.RebroadcastAfterSeconds));
    }

    [Fact]
    public void ToString_redacts_the_private_key()
    {
        var options = new EthereumOptions();

        Assert.DoesNotContain(options.HotWalletPrivateKey[2..], options.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<redacted>", options.ToString(), StringComparison.Ordinal);
    }
}

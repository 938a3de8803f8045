namespace Exchange.Domain.Common;

/// <summary>A currency the exchange holds, with the number of decimals of its base unit (wei for ETH).</summary>
public sealed record Asset(string Code, int Decimals)
{
    public static readonly Asset Eth = new("ETH", 18);

    private static readonly Dictionary<string, Asset> Known = new(StringComparer.Ordinal) { [Eth.Code] = Eth };

    public static IReadOnlyCollection<Asset> All => Known.Values;

    public static Asset? Find(string? code) => code is not null && Known.TryGetValue(code, out var asset) ? asset : null;
}

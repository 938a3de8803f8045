using System.Globalization;
using System.Numerics;
using Npgsql;

namespace Exchange.Api.Tests.Support;

/// <summary>Statements sent straight to PostgreSQL as a given role: how tests tamper behind the application's back.</summary>
public static class Sql
{
    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The hot wallet's next nonce as the node sees it, pending transactions included: it moves only when something was signed and sent.</summary>
    public static async Task<BigInteger> HotWalletNonceAsync(this ExchangeFixture system) =>
        BigInteger.Parse("0" + (await system.Anvil.RpcAsync("eth_getTransactionCount", system.HotWalletAddress, "pending"))!.GetValue<string>()[2..],
            NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}

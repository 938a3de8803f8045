using Exchange.Api.Common;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.VivoKey;
using Npgsql;

namespace Exchange.Api.Infrastructure;

/// <summary>
/// Refuses to start in Production with the development set-up's values, or with none: the simulator's
/// address and client, the source code's challenge key, a hot wallet whose key anvil prints to everyone,
/// the endpoint that credits funds from nothing, a test hook, staff named by an unverified email, Data
/// Protection keys stored in the clear. The defaults in the code and appsettings.json are all development
/// values, so a production deployment that forgets a setting would otherwise run, quietly, on them. Runs right
/// after the host is built, before anything touches PostgreSQL, the chain or VivoKey, and reports every reason
/// at once. Every environment is checked but Development and Testing (the tests' own): a Staging or a
/// "Prod" deployment reaches real users and keys as surely as Production does.
/// </summary>
public static class ProductionGuard
{
    public const string Heading = "The exchange refuses to start in Production (or any environment but Development and Testing). Fix each of these, then start it again:";

    /// <summary>The VivoKey simulator's demo members (its appsettings.json): never staff of a real exchange.</summary>
    private static readonly string[] SimulatorDemoMembers = ["vk-demo-trader", "vk-demo-receiver"];

    /// <summary>Chain ids of local development chains: anvil and Hardhat (31337), Ganache and geth --dev (1337).</summary>
    private static readonly long[] DevelopmentChainIds = [31337, 1337];

    /// <summary>Whether the refusals apply: everywhere but Development and Testing.</summary>
    public static bool Applies(IHostEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return !environment.IsDevelopment() && !environment.IsEnvironment("Testing");
    }

    /// <summary>Throws <see cref="StartupRefusedException"/> outside Development and Testing when any reason applies.</summary>
    public static void Check(IHostEnvironment environment, IConfiguration configuration, IServiceProvider services)
    {
        if (!Applies(environment))
        {
            return;
        }

        var reasons = Reasons(configuration, () => services.GetRequiredService<HotWalletAddress>().Value);
        if (reasons.Count > 0)
        {
            throw new StartupRefusedException(Heading, reasons);
        }
    }

    /// <summary>Every reason this configuration may not run in Production, in the order of the table in docs/operations.md.</summary>
    /// <param name="wallet">Loads the hot wallet (decrypting the keystore if that is its source), once.</param>
    public static IReadOnlyList<string> Reasons(IConfiguration configuration, Func<HotWallet> wallet)
    {
        ArgumentNullException.ThrowIfNull(wallet);
        return Reasons(configuration, () => wallet().Address);
    }

    /// <summary>Every reason this configuration may not run in Production, in the order of the table in docs/operations.md.</summary>
    /// <param name="wallet">The hot wallet's address: the key's where jobs run (decrypting the keystore if that is its source), once.</param>
    public static IReadOnlyList<string> Reasons(IConfiguration configuration, Func<string> wallet)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(wallet);
        var reasons = new List<string>();
        var exchange = Bind<ExchangeOptions>(configuration, "Exchange", reasons);
        var vivoKey = Bind<VivoKeyOptions>(configuration, VivoKeyOptions.Section, reasons);
        var ethereum = Bind<EthereumOptions>(configuration, EthereumOptions.SectionName, reasons);
        var roles = Bind<RoleOptions>(configuration, RoleOptions.Section, reasons);

        CheckDatabase(configuration, exchange, reasons);

        if (exchange?.DevCreditEndpoint == true)
        {
            reasons.Add("Exchange:DevCreditEndpoint is on: it lets any signed-in member credit themselves funds from nothing. Remove the setting (it is off outside Development).");
        }

        if (!string.IsNullOrEmpty(exchange?.CrashAt))
        {
            reasons.Add("Exchange:CrashAt is set: it is a test hook that kills the process on purpose. Remove the setting.");
        }

        if (vivoKey is not null)
        {
            CheckVivoKey(vivoKey, reasons);
        }

        if (ethereum is not null)
        {
            CheckEthereum(configuration, ethereum, exchange?.RunJobs != false, wallet, reasons);
        }

        if (roles is not null)
        {
            CheckRoles("Roles:Compliance", roles.Compliance, reasons);
            CheckRoles("Roles:Operators", roles.Operators, reasons);
        }

        DataProtectionKeys.Check(configuration, reasons);

        return reasons;
    }

    private static void CheckDatabase(IConfiguration configuration, ExchangeOptions? exchange, List<string> reasons)
    {
        var application = configuration.GetConnectionString("Exchange");
        var owner = configuration.GetConnectionString("ExchangeOwner");
        if (string.IsNullOrWhiteSpace(application))
        {
            reasons.Add("ConnectionStrings:Exchange is not set: set ConnectionStrings__Exchange to the PostgreSQL connection string of the application's own role (not the schema owner).");
            return;
        }

        if (string.IsNullOrWhiteSpace(owner))
        {
            if (exchange?.MigrateOnStartup != false)
            {
                reasons.Add("ConnectionStrings:ExchangeOwner is not set while Exchange:MigrateOnStartup is on: the application's own role would migrate, and a role that owns the schema can rewrite the audit trail. " +
                    "Set ConnectionStrings__ExchangeOwner to the schema owner's connection string, or set Exchange:MigrateOnStartup to false on this instance.");
            }

            return;
        }

        var applicationUser = UserOf("ConnectionStrings:Exchange", application, reasons);
        var ownerUser = UserOf("ConnectionStrings:ExchangeOwner", owner, reasons);
        if (!string.IsNullOrEmpty(applicationUser) && string.Equals(applicationUser, ownerUser, StringComparison.Ordinal))
        {
            reasons.Add($"ConnectionStrings:Exchange connects as {applicationUser}, the schema owner of ConnectionStrings:ExchangeOwner: the application could rewrite the audit trail. " +
                "Give the application a role of its own (the migration grants it what it needs).");
        }
    }

    private static void CheckVivoKey(VivoKeyOptions vivoKey, List<string> reasons)
    {
        CheckUrl("VivoKey:Authority", vivoKey.Authority, "VivoKey Connect's OpenID issuer URL", "the client secret and the members' tokens travel to it", reasons);
        CheckUrl("VivoKey:ValidationEndpoint", vivoKey.ValidationEndpoint, "VivoKey Connect's Validation API endpoint", "the members' access tokens travel to it", reasons);
        CheckUrl("VivoKey:CallbackUrl", vivoKey.CallbackUrl, "this exchange's public URL of /vivokey/callback, as registered with VivoKey", "the challenge ids that approve withdrawals travel to it", reasons);

        if (string.IsNullOrWhiteSpace(vivoKey.ClientId))
        {
            reasons.Add("VivoKey:ClientId is not set: set it to the client id VivoKey issued this exchange.");
        }
        else if (vivoKey.ClientId == VivoKeyOptions.DevelopmentClientId)
        {
            reasons.Add($"VivoKey:ClientId is {VivoKeyOptions.DevelopmentClientId}, the VivoKey simulator's development client: set it to the client id VivoKey issued this exchange.");
        }

        if (string.IsNullOrWhiteSpace(vivoKey.ClientSecret))
        {
            reasons.Add("VivoKey:ClientSecret is not set: set VivoKey__ClientSecret from your secret store to the secret VivoKey issued this exchange.");
        }
        else if (vivoKey.ClientSecret == VivoKeyOptions.DevelopmentClientSecret)
        {
            reasons.Add("VivoKey:ClientSecret is the VivoKey simulator's development secret: set VivoKey__ClientSecret from your secret store to the secret VivoKey issued this exchange.");
        }

        const string MakeOne = "set VivoKey__ChallengeKey from your secret store to 32 random bytes, base64 (openssl rand -base64 32), the same on every instance";
        if (string.IsNullOrWhiteSpace(vivoKey.ChallengeKey))
        {
            reasons.Add($"VivoKey:ChallengeKey is not set: {MakeOne}.");
        }
        else if (vivoKey.ChallengeKey == VivoKeyOptions.DevelopmentChallengeKey)
        {
            reasons.Add($"VivoKey:ChallengeKey is the development key published in the source code: anyone could forge challenge ids with it. {char.ToUpperInvariant(MakeOne[0])}{MakeOne[1..]}.");
        }
        else if (!IsBase64OfAtLeast32Bytes(vivoKey.ChallengeKey))
        {
            reasons.Add($"VivoKey:ChallengeKey is not at least 32 bytes of base64: {MakeOne}.");
        }
    }

    /// <summary>One reason at most per URL: the first of unset, not absolute, loopback, plain http.</summary>
    private static void CheckUrl(string setting, string? value, string what, string whyHttps, List<string> reasons)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            reasons.Add($"{setting} is not set: set it to {what}.");
        }
        else if (!Uri.TryCreate(value, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            reasons.Add($"{setting} is not an absolute http(s) URL: set it to {what}.");
        }
        else if (url.IsLoopback)
        {
            reasons.Add($"{setting} is {value}, a loopback address (where the VivoKey simulator runs in development), which VivoKey neither serves nor reaches: set it to {what}.");
        }
        else if (url.Scheme != Uri.UriSchemeHttps)
        {
            reasons.Add($"{setting} is {value}, plain http: {whyHttps}, so it must be https.");
        }
    }

    private static void CheckEthereum(IConfiguration configuration, EthereumOptions ethereum, bool runsJobs, Func<string> wallet, List<string> reasons)
    {
        if (string.IsNullOrWhiteSpace(ethereum.RpcUrl))
        {
            reasons.Add("Ethereum:RpcUrl is not set: set it to your Ethereum node's JSON-RPC URL.");
        }
        else if (!Uri.TryCreate(ethereum.RpcUrl, UriKind.Absolute, out var rpc))
        {
            reasons.Add("Ethereum:RpcUrl is not an absolute URL: set it to your Ethereum node's JSON-RPC URL.");
        }
        else if (rpc.Scheme == Uri.UriSchemeHttp && !rpc.IsLoopback)
        {
            // On loopback (a node beside the exchange) nothing crosses a network; anywhere else a man in the middle
            // could answer for the chain: balances, nonces, receipts and confirmations the exchange acts on.
            reasons.Add($"Ethereum:RpcUrl is {rpc.GetLeftPart(UriPartial.Authority)}, plain http to another host: the node's answers (nonces, receipts, confirmations) and the signed transactions travel over it unprotected, " +
                "so it must be https (or a node on this host's loopback).");
        }

        if (ethereum.ChainId <= 0)
        {
            reasons.Add("Ethereum:ChainId is not set: set it to the chain id of the network the exchange withdraws on (1 for Ethereum mainnet).");
        }
        else if (DevelopmentChainIds.Contains(ethereum.ChainId))
        {
            reasons.Add($"Ethereum:ChainId is {ethereum.ChainId}, a local development chain's (anvil, Hardhat, Ganache): set it to the chain id of the network the exchange withdraws on (1 for Ethereum mainnet).");
        }

        var keystore = ethereum.HotWalletKeySource == HotWalletKeySource.Keystore;
        if (keystore && !string.IsNullOrWhiteSpace(configuration[$"{EthereumOptions.SectionName}:{nameof(EthereumOptions.HotWalletPrivateKey)}"]))
        {
            reasons.Add("Ethereum:HotWalletPrivateKey is set while Ethereum:HotWalletKeySource is Keystore: only the keystore is used, so remove the plain key from the configuration and the environment.");
        }

        string address;
        try
        {
            address = wallet();
        }
        catch (StartupRefusedException refused)
        {
            reasons.AddRange(refused.Reasons);
            return;
        }

        if (DevelopmentAccounts.IndexOf(address) is { } account)
        {
            var holder = !runsJobs ? "Ethereum:HotWalletAddress is" : keystore ? "The keystore at Ethereum:KeystorePath holds" : "Ethereum:HotWalletPrivateKey is";
            reasons.Add($"{holder} anvil's and Hardhat's public development account #{account} ({address}): its key is printed by every local node, and whatever reaches it on a real network is swept within seconds. " +
                "Give the exchange a key of its own (Ethereum__HotWalletPrivateKey from your secret store, or an encrypted keystore).");
        }
    }

    private static void CheckRoles(string setting, IEnumerable<string> grants, List<string> reasons)
    {
        foreach (var grant in grants)
        {
            if (!RoleOptions.IsSubject(grant))
            {
                reasons.Add($"{setting} lists {grant}, which is not a VivoKey subject: VivoKey does not verify the email it gives, so anyone could sign in with it and hold the role. " +
                    "List your staff's VivoKey subjects instead (the subject field of /api/me once they have signed in).");
            }
            else if (SimulatorDemoMembers.Contains(grant, StringComparer.OrdinalIgnoreCase))
            {
                reasons.Add($"{setting} grants {grant}, a demo member of the VivoKey simulator: grant the role to your staff's VivoKey subjects instead.");
            }
        }
    }

    /// <summary>Binds a section as the host will; a value that does not convert becomes a reason, not a crash.</summary>
    private static T? Bind<T>(IConfiguration configuration, string section, List<string> reasons)
        where T : class, new()
    {
        try
        {
            return configuration.GetSection(section).Get<T>() ?? new T();
        }
        catch (InvalidOperationException bad)
        {
            // The binder's message names the setting and the type; it quotes the bad value, which is never one of the
            // secrets (those are strings, and a string always binds).
            reasons.Add(bad.Message);
            return null;
        }
    }

    private static string? UserOf(string setting, string connectionString, List<string> reasons)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder(connectionString).Username ?? "";
        }
        catch (ArgumentException)
        {
            // Not the builder's message: it can quote the string, password and all.
            reasons.Add($"{setting} is not a PostgreSQL connection string (Host=...;Database=...;Username=...): correct it.");
            return null;
        }
    }

    private static bool IsBase64OfAtLeast32Bytes(string value)
    {
        var bytes = new byte[value.Length];
        return Convert.TryFromBase64String(value, bytes, out var written) && written >= 32;
    }
}

using Exchange.Api;
using Exchange.Api.Features.Operations;
using Exchange.Api.Infrastructure;

// A configuration this process may not run with is the operator's to fix, not a crash: its reasons go to stderr,
// one per line, without a stack trace, and the exit status is EX_CONFIG.
try
{
    return await RunAsync(args);
}
catch (StartupRefusedException refused)
{
    await Console.Error.WriteLineAsync(refused.Message);
    return StartupRefusedException.ExitCode;
}

// The operator's command line, with the same configuration as the service:
//   Exchange.Api check-invariants   prints each invariant as held or broken; exits 0 when all hold, 1 otherwise.
//   Exchange.Api reconcile          runs one reconciler pass now (the running instances do the work it enqueues).
//   Exchange.Api migrate            brings the schema up to date as ConnectionStrings:ExchangeOwner, then exits
//                                   (a deployment's step before the instances start with Exchange:MigrateOnStartup=false).
//   Exchange.Api audit-checkpoint [--output FILE]
//                                   seals what has committed, then prints the audit chain's head signed with
//                                   Audit:CheckpointSigningKey (JSON), to keep outside the database.
//   Exchange.Api audit verify --checkpoint FILE
//                                   exits 0 when today's audit trail extends the checkpoint (Audit:CheckpointVerifyKey);
//                                   1 naming the first problem when it does not; 2 when it cannot check.
static async Task<int> RunAsync(string[] args)
{
    if (args.Length > 0 && args[0] is "audit-checkpoint" or "audit")
    {
        return await RunAuditAsync(args);
    }

    if (args.Length > 0 && args[0] is "check-invariants" or "reconcile" or "migrate")
    {
        var tool = ExchangeApp.Build(args[1..], builder => builder.Configuration.AddInMemoryCollection(ToolSettings(new Dictionary<string, string?>
        {
            ["Exchange:RunJobs"] = "false",
            ["Exchange:ServeApi"] = "false",
            ["Exchange:MigrateOnStartup"] = args[0] == "migrate" ? "true" : "false",
        }, builder.Configuration)));
        if (args[0] == "migrate")
        {
            Console.WriteLine("The database schema is up to date.");
            return 0;
        }

        await using var scope = tool.Services.CreateAsyncScope();
        if (args[0] == "reconcile")
        {
            var pass = await scope.ServiceProvider.GetRequiredService<Exchange.Api.Features.Requests.Reconcile>().RunAsync(CancellationToken.None);
            Console.WriteLine(pass);
            return 0;
        }

        var report = await scope.ServiceProvider.GetRequiredService<InvariantChecker>().CheckAsync(CancellationToken.None);
        Console.WriteLine(InvariantChecker.Format(report));
        return report.Ok ? 0 : 1;
    }

    await ExchangeApp.Build(args).RunAsync();
    return 0;
}

static async Task<int> RunAuditAsync(string[] args)
{
    string? checkpoint = null;
    string? output = null;
    var rest = args[1..];
    if (args[0] == "audit")
    {
        checkpoint = args.Length >= 4 && args[1] == "verify" && args[2] == "--checkpoint" ? args[3] : null;
        rest = args.Length >= 4 ? args[4..] : [];
    }
    else if (rest.Length > 0 && rest[0] == "--output")
    {
        output = rest.Length > 1 ? rest[1] : null;
        rest = rest.Length > 1 ? rest[2..] : [];
    }

    if (args[0] == "audit" ? checkpoint is null : args.Length > 1 && args[1] == "--output" && output is null)
    {
        await Console.Error.WriteLineAsync("Usage: Exchange.Api audit-checkpoint [--output FILE] | Exchange.Api audit verify --checkpoint FILE");
        return Exchange.Api.Features.Audit.AuditCheckpointCommand.Unusable;
    }

    var tool = ExchangeApp.Build(rest, builder =>
    {
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Exchange:RunJobs"] = "false",
            ["Exchange:ServeApi"] = "false",
            ["Exchange:MigrateOnStartup"] = "false",
        });
        // stdout carries the checkpoint or the verdict alone.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
    });
    return checkpoint is not null
        ? await Exchange.Api.Features.Audit.AuditCheckpointCommand.VerifyAsync(tool.Services, checkpoint)
        : await Exchange.Api.Features.Audit.AuditCheckpointCommand.CheckpointAsync(tool.Services, output);
}

// The tools run no jobs, so, like an API-only instance, they know the hot wallet by Ethereum:HotWalletAddress. Where
// only a plain key is configured (a local run on the development defaults), its address is taken from it.
static Dictionary<string, string?> ToolSettings(Dictionary<string, string?> settings, IConfiguration configuration)
{
    var ethereum = configuration.GetSection(Exchange.Api.Infrastructure.Chain.EthereumOptions.SectionName).Get<Exchange.Api.Infrastructure.Chain.EthereumOptions>()
        ?? new Exchange.Api.Infrastructure.Chain.EthereumOptions();
    if (string.IsNullOrWhiteSpace(ethereum.HotWalletAddress)
        && ethereum.HotWalletKeySource == Exchange.Api.Infrastructure.Chain.HotWalletKeySource.Environment
        && !string.IsNullOrWhiteSpace(ethereum.HotWalletPrivateKey))
    {
        try
        {
            settings["Ethereum:HotWalletAddress"] = new Nethereum.Signer.EthECKey(ethereum.HotWalletPrivateKey).GetPublicAddress();
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            // Not a key: the start-up checks say so, naming the setting.
        }
    }

    return settings;
}

/// <summary>The entry point; public so test hosts can name the assembly.</summary>
public partial class Program;

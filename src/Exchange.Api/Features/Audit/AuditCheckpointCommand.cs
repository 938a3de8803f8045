using Exchange.Api.Bookkeeping;

namespace Exchange.Api.Features.Audit;

/// <summary>
/// The operator's audit commands (Program.cs): <c>audit-checkpoint [--output FILE]</c> prints the signed head
/// of the chain; <c>audit verify --checkpoint FILE</c> proves today's trail still extends it. What they report
/// goes to stdout, what went wrong to stderr; the log goes to stderr too, so stdout is the document alone.
/// </summary>
public static class AuditCheckpointCommand
{
    /// <summary>The trail does not extend the checkpoint, or the checkpoint is not genuine.</summary>
    public const int Refuted = 1;

    /// <summary>The command could not check anything: a key or the file is missing or unreadable.</summary>
    public const int Unusable = 2;

    public static async Task<int> CheckpointAsync(IServiceProvider services, string? output)
    {
        var keyPath = Options(services).CheckpointSigningKey;
        if (string.IsNullOrWhiteSpace(keyPath))
        {
            return await FailAsync(Unusable, "Audit:CheckpointSigningKey is not set: set it to the path of the PEM ECDSA P-256 private key that signs checkpoints.");
        }

        await using var scope = services.CreateAsyncScope();
        var chain = scope.ServiceProvider.GetRequiredService<AuditChain>();
        // Everything committed so far goes into the checkpoint (a running sealer holding the lock has it in hand instead).
        int linked;
        do
        {
            linked = await chain.SealAsync(CancellationToken.None);
        }
        while (linked == AuditChain.Batch);

        if (await chain.HeadAsync(CancellationToken.None) is not { } head)
        {
            return await FailAsync(Refuted, "Nothing in the audit trail is sealed yet: there is no head to checkpoint.");
        }

        var (ok, problem) = await chain.ExtendsAsync(head.ChainSeq, head.Hash, CancellationToken.None);
        if (!ok)
        {
            return await FailAsync(Refuted, "Not signing a checkpoint of a broken trail. " + problem);
        }

        AuditCheckpoint checkpoint;
        try
        {
            checkpoint = AuditCheckpoint.Sign(head.ChainSeq, head.Hash, head.SealedAt, services.GetRequiredService<TimeProvider>().GetUtcNow(), keyPath);
        }
        catch (CheckpointKeyException ex)
        {
            return await FailAsync(Unusable, ex.Message);
        }

        var json = checkpoint.ToJson();
        Console.WriteLine(json);
        if (!string.IsNullOrWhiteSpace(output))
        {
            await File.WriteAllTextAsync(output, json + Environment.NewLine);
        }

        return 0;
    }

    public static async Task<int> VerifyAsync(IServiceProvider services, string file)
    {
        var keyPath = Options(services).CheckpointVerifyKey;
        if (string.IsNullOrWhiteSpace(keyPath))
        {
            return await FailAsync(Unusable, "Audit:CheckpointVerifyKey is not set: set it to the path of the PEM public key of the checkpoints' signer.");
        }

        AuditCheckpoint checkpoint;
        try
        {
            checkpoint = AuditCheckpoint.Parse(await File.ReadAllTextAsync(file));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return await FailAsync(Unusable, $"The checkpoint {file} cannot be read: {ex.Message}");
        }

        string? forged;
        try
        {
            forged = checkpoint.SignatureProblem(keyPath);
        }
        catch (CheckpointKeyException ex)
        {
            return await FailAsync(Unusable, ex.Message);
        }

        if (forged is not null || checkpoint.HashBytes() is not { } hash)
        {
            return await FailAsync(Refuted, forged ?? "The checkpoint's hash is not 64 hex digits.");
        }

        await using var scope = services.CreateAsyncScope();
        var (ok, message) = await scope.ServiceProvider.GetRequiredService<AuditChain>().ExtendsAsync(checkpoint.ChainSeq, hash, CancellationToken.None);
        if (!ok)
        {
            return await FailAsync(Refuted, message);
        }

        Console.WriteLine(message);
        return 0;
    }

    private static AuditCheckpointOptions Options(IServiceProvider services) =>
        services.GetRequiredService<IConfiguration>().GetSection(AuditCheckpointOptions.Section).Get<AuditCheckpointOptions>() ?? new AuditCheckpointOptions();

    private static async Task<int> FailAsync(int code, string message)
    {
        await Console.Error.WriteLineAsync(message);
        return code;
    }
}

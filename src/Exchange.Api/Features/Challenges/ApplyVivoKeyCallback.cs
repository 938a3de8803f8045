using System.Text.Json;
using Exchange.Api.Bookkeeping;
using Exchange.Api.Common;
using Exchange.Api.Features.Audit;
using Exchange.Api.Infrastructure.Jobs;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.Telemetry;
using Exchange.Api.Infrastructure.VivoKey;
using Exchange.Domain.Audit;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Exchange.Domain.Transfers;
using Exchange.Domain.Withdrawals;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Features.Challenges;

/// <summary>
/// VivoKey's callback: the member tapped, declined, or let the challenge time out. It carries no
/// signature, so the id's MAC and the stored hash decide whether it is ours, and it may come before
/// the POST's answer, twice, late or never: it is applied once, and every repeat changes nothing.
/// </summary>
public static class ApplyVivoKeyCallback
{
    public sealed record Command(bool Success, string Id, string? VivoId, string? Error, string? Message) : ICommand<Outcome>;

    public enum Outcome
    {
        Applied,
        /// <summary>The challenge had already ended: a repeat or a late callback, recorded and ignored.</summary>
        AlreadyEnded,
        UnknownId,
        /// <summary>The id carries no valid MAC: not one we issued. Audited by the endpoint, rate-limited.</summary>
        Forged,
        VivoIdMismatch,
        /// <summary>The id was replaced by a newer one (the challenge was issued again): changes nothing.</summary>
        RetiredId,
        /// <summary>Another of the challenges VivoKey opened for this id already decided: changes nothing.</summary>
        AlreadyDecided,
    }

    public sealed class Handler(
        ExchangeDbContext db,
        ChallengeKeys keys,
        RequestOutcomes outcomes,
        LedgerPostings ledger,
        MemberTokens tokens,
        ChallengeIssuer issuer,
        JobScheduler jobs,
        Operations.OperatorActionExecution operatorActions,
        Infrastructure.CrashPoints crash,
        TimeProvider clock,
        ILogger<Handler> logger) : ICommandHandler<Command, Outcome>
    {
        public async ValueTask<Outcome> Handle(Command command, CancellationToken cancellationToken)
        {
            db.Actor = Actors.VivoKey;
            if (!keys.IsAuthentic(command.Id))
            {
                // Not an id we issued: refused before any lookup of challenges, and before any write.
                return Outcome.Forged;
            }

            var idHash = ChallengeIds.Hash(command.Id);
            // A second callback, a cancel or the reconciler racing this one: the loser reads again and finds it ended.
            var outcome = await db.InTransactionAsync(() => ApplyAsync(command, idHash, cancellationToken), cancellationToken);
            if (outcome == Outcome.Applied)
            {
                crash.At("after-callback");
            }

            if (outcome is Outcome.Applied or Outcome.AlreadyEnded)
            {
                // The request is named in the log scope by now (ApplyAsync found its challenge).
                logger.LogInformation("VivoKey's callback ({Answer}) {Result}", command.Success ? "success" : command.Error,
                    outcome == Outcome.Applied ? "applied" : "ignored: the challenge had already ended");
            }

            return outcome;
        }

        private async Task<Outcome> ApplyAsync(Command command, byte[] idHash, CancellationToken cancellationToken)
        {
            var now = clock.GetUtcNow();
            // Locking the challenge serializes callbacks for it: a racing duplicate waits, then finds it ended.
            var challenge = await db.LockChallengeByIdHashAsync(idHash, cancellationToken);
            if (challenge is null)
            {
                var retired = await db.RetiredChallengeIds.AsNoTracking().SingleOrDefaultAsync(r => r.IdHash == idHash, cancellationToken);
                if (retired is not null)
                {
                    db.Audit("callback.retired_id", $"challenge:{retired.ChallengeId}", new { retiredAt = retired.RetiredAt, reason = retired.Reason, received = Received(command) }, now);
                    return Outcome.RetiredId;
                }

                db.Audit("callback.unknown_id", "vivokey:callback", Received(command), now);
                return Outcome.UnknownId;
            }

            LogFields.NameRequest(challenge.RequestKind, challenge.RequestId);
            var subject = $"{challenge.RequestKind.ToWire()}:{challenge.RequestId}";
            if (challenge.IsEnded && challenge.VivoId is { } decided && command.VivoId is { } received && received != decided && challenge.MayCarry(received))
            {
                // VivoKey opened more than one challenge for this id; the first callback decided.
                db.Audit("callback.already_decided", subject, new { decidedBy = challenge.VivoId, challengeOutcome = challenge.Outcome, received = Received(command) }, now);
                return Outcome.AlreadyDecided;
            }

            if (!challenge.MayCarry(command.VivoId))
            {
                db.Audit("callback.vivo_id_mismatch", subject, new { expected = challenge.VivoIds, received = Received(command) }, now);
                return Outcome.VivoIdMismatch;
            }

            if (challenge.IsEnded)
            {
                db.Audit("callback.ignored", subject, new { challengeOutcome = challenge.Outcome, received = Received(command) }, now);
                return Outcome.AlreadyEnded;
            }

            if (command.VivoId is not null && !challenge.VivoIds.Contains(command.VivoId) && challenge.VivoIds.Count > 0)
            {
                db.Audit("callback.unrecorded_vivo_id", subject, new { recorded = challenge.VivoIds, unansweredSends = challenge.UnansweredSends, received = Received(command) }, now);
            }

            if (challenge.RequestKind == Domain.Common.RequestKind.OperatorAction)
            {
                // The operator's own tap on an action of theirs: nothing happened until now.
                challenge.RecordDecidingCallback(command.VivoId);
                await operatorActions.ApplyAsync(challenge, command.Success, command.Error, command.VivoId, cancellationToken);
                return Outcome.Applied;
            }

            var request = await outcomes.FindAsync(challenge, cancellationToken)
                ?? throw new InvalidOperationException($"Challenge {challenge.Id} has no request.");
            if (request.Status != RequestStatus.PendingApproval)
            {
                db.Audit("callback.ignored", subject, new { requestStatus = request.Status.ToWire(), received = Received(command) }, now);
                return Outcome.AlreadyEnded;
            }

            if (!command.Success && command.Error == "token-expired" && await issuer.TryReissueAsync(challenge, subject, cancellationToken))
            {
                return Outcome.Applied;
            }

            challenge.RecordDecidingCallback(command.VivoId);
            var status = Challenge.StatusFor(command.Success, command.Error);
            if (status != RequestStatus.Approved)
            {
                await outcomes.EndAsync(request, challenge, status, command.Message ?? command.Error, cancellationToken);
                challenge.RecordAccepted(command.VivoId);
                if (status == RequestStatus.TokenExpired)
                {
                    await tokens.MarkUnusableAsync(request.MemberId, challenge.TokenGeneration, cancellationToken);
                }

                return Outcome.Applied;
            }

            request.Approve(now);
            challenge.End("success", now, command.VivoId);
            if (request is Withdrawal approved)
            {
                // What the signer will check: proof, under a key the database never holds, that this callback approved this row.
                challenge.RecordApprovalProof(keys.ProveApproval(challenge, approved));
            }

            switch (request)
            {
                case Transfer transfer:
                    // A transfer settles inside the ledger at once, in this same transaction.
                    await ledger.SettleTransferAsync(transfer, cancellationToken);
                    transfer.MarkSettled(now);
                    db.WhenCommitted(() => crash.At("after-transfer-settled"));
                    return Outcome.Applied;
                case Withdrawal withdrawal:
                    db.WhenCommitted(() => jobs.SignAndBroadcastNow(withdrawal.Id));
                    return Outcome.Applied;
                default:
                    throw new InvalidOperationException($"Unknown request type {request.GetType().Name}.");
            }
        }

        // The id is a bearer secret until its challenge ends: audit only a prefix of it.
        internal static object Received(Command c) => new
        {
            success = c.Success,
            idPrefix = c.Id.Length > 8 ? c.Id[..8] : c.Id,
            vivoId = c.VivoId,
            error = c.Error,
        };
    }

    private const int MaxBodyBytes = 8 * 1024;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/vivokey/callback", async (HttpContext http, IMediator mediator, RefusalAudit refusals) =>
        {
            // The callback is unauthenticated: anything that is not ours is audited by address, rate-limited.
            var caller = RefusalAudit.ActorOf(http);
            var command = await ReadAsync(http.Request);
            if (command is null)
            {
                await refusals.RecordAsync(caller, "callback.malformed", "vivokey:callback", new { contentLength = http.Request.ContentLength });
                return Results.Problem(statusCode: 400, title: "The callback body is not the documented shape: { success, message?, error?, vivo_id, id }.");
            }

            var outcome = await mediator.Send(command, http.RequestAborted);
            if (outcome == Outcome.Forged)
            {
                await refusals.RecordAsync(caller, "callback.forged", "vivokey:callback", Handler.Received(command));
            }

            return outcome switch
            {
                Outcome.Applied => Results.Ok(new { applied = true }),
                Outcome.AlreadyEnded => Results.Ok(new { applied = false, reason = "The challenge had already ended; nothing changed." }),
                Outcome.UnknownId or Outcome.Forged => Results.Problem(statusCode: 404, title: "No challenge has that id."),
                Outcome.RetiredId => Results.Problem(statusCode: 409, title: "That challenge id was replaced by a newer one; nothing changed."),
                Outcome.AlreadyDecided => Results.Problem(statusCode: 409, title: "Another challenge VivoKey opened for this id already decided; nothing changed."),
                _ => Results.Problem(statusCode: 409, title: "vivo_id does not match the one VivoKey gave for this challenge."),
            };
        }).AllowAnonymous()
            .WithTags("VivoKey").WithSummary("VivoKey's Validation API callback")
            .WithDescription("200 when applied, a repeat, or late (changes nothing); 404 for an `id` never issued; 409 when `vivo_id` contradicts ours, when the `id` was replaced by a newer one, or when another challenge opened for the same `id` already decided; 400 for another shape. All audited.")
            .WithCallbackBodyAndAnswers();

    /// <summary>Strict parse: a JSON object with a boolean success and a string id; the rest optional strings.</summary>
    private static async Task<Command?> ReadAsync(HttpRequest request)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        var buffer = new byte[MaxBodyBytes + 1];
        var length = 0;
        int read;
        while ((read = await request.Body.ReadAsync(buffer.AsMemory(length), request.HttpContext.RequestAborted)) > 0)
        {
            length += read;
            if (length > MaxBodyBytes)
            {
                return null;
            }
        }

        try
        {
            using var document = JsonDocument.Parse(buffer.AsMemory(0, length));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("success", out var success) || success.ValueKind is not (JsonValueKind.True or JsonValueKind.False)
                || !root.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(id.GetString()) || id.GetString()!.Length > 256)
            {
                return null;
            }

            string? Optional(string name) => root.TryGetProperty(name, out var value) ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Null => null,
                _ => throw new JsonException($"{name} must be a string."),
            } : null;

            var vivoId = root.TryGetProperty("vivo_id", out var v) && v.ValueKind == JsonValueKind.Number ? v.GetRawText() : Optional("vivo_id");
            if (vivoId is { Length: > 256 })
            {
                // Longer than any vivo_id we store: not VivoKey's.
                return null;
            }

            var command = new Command(success.GetBoolean(), id.GetString()!, vivoId, Optional("error"), Optional("message"));
            return command.Success || command.Error is not null ? command : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

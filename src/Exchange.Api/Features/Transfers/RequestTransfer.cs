using System.Text.Json.Nodes;
using Exchange.Api.Common;
using Exchange.Api.Common.Http;
using Exchange.Api.Features.Balances;
using Exchange.Api.Features.Challenges;
using Exchange.Api.Features.Requests;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.Telemetry;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Exchange.Domain.Members;
using Exchange.Domain.Transfers;
using FluentValidation;
using FluentValidation.Results;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Exchange.Api.Bookkeeping;

namespace Exchange.Api.Features.Transfers;

/// <summary>
/// A trader sends funds to another member, once they tap. The receiver is named by the account handle
/// the exchange issued (or the VivoKey subject), never by email: VivoKey does not verify emails and two
/// members may share one, so an email could not say who gets the money.
/// </summary>
public static class RequestTransfer
{
    public sealed record Body(string? Asset, string? Amount, string? To);

    public sealed record Command(Guid MemberId, string? Asset, string? Amount, string? To, string? IdempotencyKey)
        : ICommand<Response>, IIdempotent
    {
        public string Operation => "transfers.request";
    }

    public sealed record Response(Guid Id, string Status, string ChallengeMessage);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            this.AssetAndAmount(c => c.Asset, c => c.Amount);
            RuleFor(c => c.To).NotEmpty().WithMessage(NameTheReceiver).MaximumLength(255).WithoutControlCharacters("receiver");
        }
    }

    public sealed class Handler(ExchangeDbContext db, LedgerPostings ledger, ChallengeIssuer challenges, RequestLimits limits, TimeProvider clock)
        : ICommandHandler<Command, Response>
    {
        public async ValueTask<Response> Handle(Command command, CancellationToken cancellationToken)
        {
            var receiver = await ReceiverAsync(db, command.MemberId, command.To!, cancellationToken);

            await challenges.EnsureMemberCanBeChallengedAsync(command.MemberId, cancellationToken);
            await limits.EnsureRoomForAnotherAsync(command.MemberId, cancellationToken);
            var asset = Asset.Find(command.Asset)!;
            var amount = Amounts.Parse(command.Amount!, asset);
            var transfer = new Transfer(Guid.CreateVersion7(), command.MemberId, asset, amount, receiver.Id, clock.GetUtcNow());
            db.Transfers.Add(transfer);
            LogFields.NameRequest(transfer.Kind, transfer.Id);
            await ledger.HoldAsync(transfer, cancellationToken);
            var message = ChallengeMessage.ForTransfer(amount, asset, receiver.Handle);
            challenges.Issue(transfer, message);
            db.Audit("transfer.requested", transfer.AuditSubject, new
            {
                asset = asset.Code,
                amount = Amounts.Format(amount, asset),
                to = receiver.Subject,
                toHandle = receiver.Handle,
                status = transfer.Status.ToWire(),
            }, transfer.CreatedAt);
            return new Response(transfer.Id, transfer.Status.ToWire(), message);
        }
    }

    private const string NameTheReceiver = "Name the receiver by their account handle (EX-XXXX-XXXX, shown on their page) or VivoKey subject.";

    /// <summary>
    /// The receiver named by handle (any letter case, with its dashes) or exact subject; refused when it
    /// looks like an email, is unknown, or is the sender themself. A handle wins over a subject spelt alike.
    /// </summary>
    public static async Task<Member> ReceiverAsync(ExchangeDbContext db, Guid sender, string to, CancellationToken cancellationToken)
    {
        to = to.Trim();
        if (to.Contains('@', StringComparison.Ordinal))
        {
            throw new ValidationException([new ValidationFailure(nameof(Command.To),
                "Transfers never go to an email: VivoKey does not verify it and two members may share one. " + NameTheReceiver)]);
        }

        var members = db.Members.AsNoTracking();
        var receiver = AccountHandle.TryParse(to, out var handle)
            ? await members.Where(m => m.Handle == handle || m.Subject == to).OrderBy(m => m.Handle == handle ? 0 : 1).FirstOrDefaultAsync(cancellationToken)
            : await members.SingleOrDefaultAsync(m => m.Subject == to, cancellationToken);
        if (receiver is null)
        {
            throw new ValidationException([new ValidationFailure(nameof(Command.To), "No member of this exchange has that account handle or subject.")]);
        }

        if (receiver.Id == sender)
        {
            throw new ValidationException([new ValidationFailure(nameof(Command.To), "A transfer must go to another member.")]);
        }

        return receiver;
    }

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/api/transfers", async (Body body, HttpContext http, IMediator mediator) =>
        {
            var response = await mediator.Send(new Command(
                http.User.MemberId(), body.Asset, body.Amount, body.To, http.Request.Headers["Idempotency-Key"].FirstOrDefault()));
            return Results.Accepted($"/api/transfers/{response.Id}", response);
        }).RequireAuthorization().LimitedAs(RateLimitedAs.Money)
            .WithTags("Transfers").WithSummary("Ask to send funds to another member (by account handle or VivoKey subject, never email)")
            .WithDescription("Like a withdrawal: held, challenged, and settled inside the ledger once the member taps. `to` is the receiver's account handle " +
                "(`EX-7KQ2-9M4D`: any letter case, the dashes required) or VivoKey subject; an email, which VivoKey does not verify, is refused with 400 naming `to`.")
            .Produces<Response>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithRequestExample(new JsonObject { ["asset"] = "ETH", ["amount"] = "0.5", ["to"] = "EX-7KQ2-9M4D" })
            .WithResponse(StatusCodes.Status202Accepted, "Accepted: the member's phone shows the challenge message", new JsonObject
            {
                ["id"] = "0193a0c4-9c1d-7e2f-8a3b-4c5d6e7f8091",
                ["status"] = "pending_approval",
                ["challengeMessage"] = "Transfer 0.5 ETH to EX-7KQ2-9M4D",
            })
            .WithResponse(StatusCodes.Status409Conflict, "The amount is over the available balance");
}

using Exchange.Api.Common;
using Exchange.Api.Common.Http;
using Exchange.Api.Features.Balances;
using Exchange.Api.Features.Challenges;
using Exchange.Api.Features.Requests;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.Telemetry;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Exchange.Domain.Transfers;
using FluentValidation;
using FluentValidation.Results;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Api.Features.Transfers;

/// <summary>A trader sends funds to another member (by email or VivoKey subject), once they tap.</summary>
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
            RuleFor(c => c.To).NotEmpty().WithMessage("Name the receiver by email or VivoKey subject.").MaximumLength(320);
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
            var message = MessageFor(asset, amount, receiver);
            challenges.Issue(transfer, message);
            db.Audit("transfer.requested", transfer.AuditSubject, new
            {
                asset = asset.Code,
                amount = Amounts.Format(amount, asset),
                to = receiver.Subject,
                status = transfer.Status.ToWire(),
            }, transfer.CreatedAt);
            return new Response(transfer.Id, transfer.Status.ToWire(), message);
        }
    }

    /// <summary>The receiver named by email or subject; refused when unknown or the sender themself.</summary>
    public static async Task<Member> ReceiverAsync(ExchangeDbContext db, Guid sender, string to, CancellationToken cancellationToken)
    {
        to = to.Trim();
        var receiver = await db.Members.AsNoTracking()
            .Where(m => m.Subject == to || m.Email.ToLower() == to.ToLower())
            .OrderBy(m => m.Subject == to ? 0 : 1)
            .FirstOrDefaultAsync(cancellationToken);
        if (receiver is null)
        {
            throw new ValidationException([new ValidationFailure(nameof(Command.To), "No member of this exchange has that email or subject.")]);
        }

        if (receiver.Id == sender)
        {
            throw new ValidationException([new ValidationFailure(nameof(Command.To), "A transfer must go to another member.")]);
        }

        return receiver;
    }

    /// <summary>The words on the member's phone; the preview shows the same before the request is made.</summary>
    public static string MessageFor(Asset asset, System.Numerics.BigInteger amount, Member receiver) =>
        ChallengeMessage.Build("Send", Amounts.Format(amount, asset), asset.Code, string.IsNullOrWhiteSpace(receiver.Name) ? receiver.Email : receiver.Name);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/api/transfers", async (Body body, HttpContext http, IMediator mediator) =>
        {
            var response = await mediator.Send(new Command(
                http.User.MemberId(), body.Asset, body.Amount, body.To, http.Request.Headers["Idempotency-Key"].FirstOrDefault()));
            return Results.Accepted($"/api/transfers/{response.Id}", response);
        }).RequireAuthorization().LimitedAs(RateLimitedAs.Money);
}

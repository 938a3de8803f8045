using Exchange.Api.Common;
using Exchange.Api.Features.Challenges;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Exchange.Domain.Operations;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;
using Exchange.Api.Bookkeeping;

namespace Exchange.Api.Features.Operations;

/// <summary>
/// An operator asks to act on a stuck request: retry the challenge's send, re-broadcast a signed
/// withdrawal, or cancel a request still waiting for its tap. Nothing happens yet: a validation
/// challenge goes to the operator's own implant, and the action runs only when they tap.
/// </summary>
public static class RequestOperatorAction
{
    public sealed record Body(string? Action, Guid? RequestId, string? Reason);

    public sealed record Command(Guid MemberId, string Subject, string? Action, Guid? RequestId, string? Reason, string? IdempotencyKey)
        : ICommand<Response>, IIdempotent
    {
        public string Operation => "operations.actions.request";
    }

    public sealed record Response(Guid Id, string Status, string Action, string Target, string ChallengeMessage);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Action).Must(a => OperatorActions.TryParseKind(a, out _))
                .WithMessage($"The action must be one of: {string.Join(", ", OperatorActions.KindNames)}.");
            RuleFor(c => c.RequestId).NotEmpty().WithMessage("Name the withdrawal or transfer by its id.");
            RuleFor(c => c.Reason).NotEmpty().WithMessage("Say why: an operator action needs a reason.")
                .MaximumLength(500).WithMessage("The reason is limited to 500 characters.")
                .WithoutControlCharacters("reason");
        }
    }

    public sealed class Handler(ExchangeDbContext db, RequestOutcomes outcomes, ChallengeIssuer challenges, TimeProvider clock)
        : ICommandHandler<Command, Response>
    {
        public async ValueTask<Response> Handle(Command command, CancellationToken cancellationToken)
        {
            var kind = OperatorActions.ParseKind(command.Action!);
            var targetId = command.RequestId!.Value;
            var targetKind = await db.Withdrawals.AnyAsync(w => w.Id == targetId, cancellationToken) ? RequestKind.Withdrawal
                : await db.Transfers.AnyAsync(t => t.Id == targetId, cancellationToken) ? RequestKind.Transfer
                : throw new NotFoundException("No withdrawal or transfer has that id.");
            var request = (await outcomes.FindAsync(targetKind, targetId, cancellationToken))!;
            if (!kind.AppliesTo(targetKind, request.Status))
            {
                throw new ConflictException($"{kind.ToWire()} does not apply to a {targetKind.ToWire()} that is {request.Status.ToWire()}.", "action");
            }

            if (kind == OperatorActionKind.RetrySend
                && !await db.Challenges.AnyAsync(c => c.RequestId == targetId && c.State == ChallengeState.Sending, cancellationToken))
            {
                throw new ConflictException("VivoKey has already accepted this challenge: wait for the member or its deadline, or cancel the request.", "action");
            }

            if (await db.OperatorActions.AnyAsync(a => a.TargetId == targetId && a.Status == OperatorActionStatus.AwaitingTap, cancellationToken))
            {
                throw new ConflictException("Another operator action on this request is waiting for its tap.", "requestId");
            }

            await challenges.EnsureMemberCanBeChallengedAsync(command.MemberId, cancellationToken);
            var now = clock.GetUtcNow();
            var action = new OperatorAction(Guid.CreateVersion7(), command.MemberId, command.Subject, kind, targetKind, targetId, command.Reason!, now);
            db.OperatorActions.Add(action);
            db.Audit($"{RequestKind.OperatorAction.ToWire()}.requested", action.AuditSubject,
                new { action = kind.ToWire(), target = action.TargetSubject, targetStatus = request.Status.ToWire(), reason = action.Reason }, now);
            // The id's random tail, not its head: version-7 ids made the same moment share their first digits.
            var message = $"Operator: {kind.ToWire()} {targetKind.ToWire()} #{targetId.ToString("N")[^8..]}";
            challenges.IssueFor(RequestKind.OperatorAction, action.Id, command.MemberId, action.AuditSubject, message);
            return new Response(action.Id, action.Status.ToWire(), kind.ToWire(), action.TargetSubject, message);
        }
    }

    public static void Map(RouteGroupBuilder operations) =>
        operations.MapPost("/actions", async (Body body, HttpContext http, IMediator mediator) =>
        {
            var response = await mediator.Send(new Command(http.User.MemberId(), http.User.Subject(), body.Action, body.RequestId, body.Reason,
                http.Request.Headers["Idempotency-Key"].FirstOrDefault()));
            return Results.Accepted($"/api/operations/actions/{response.Id}", response);
        }).RequireAuthorization(policy => policy.RequireRole(Roles.Operator))
            .WithSummary("Ask for an operator action; it runs once the operator taps their implant")
            .Produces<Response>(StatusCodes.Status202Accepted);
}

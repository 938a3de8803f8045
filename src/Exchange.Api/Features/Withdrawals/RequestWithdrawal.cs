using Exchange.Api.Common;
using Exchange.Api.Common.Http;
using Exchange.Api.Bookkeeping;
using Exchange.Api.Features.Balances;
using Exchange.Api.Features.Challenges;
using Exchange.Api.Features.Requests;
using Exchange.Api.Infrastructure.Chain;
using Exchange.Api.Infrastructure.Persistence;
using Exchange.Api.Infrastructure.Telemetry;
using Exchange.Domain.Challenges;
using Exchange.Domain.Common;
using Exchange.Domain.Withdrawals;
using FluentValidation;
using Mediator;

namespace Exchange.Api.Features.Withdrawals;

/// <summary>
/// A trader asks to send ETH to an outside address. In one transaction: hold the funds, create the
/// withdrawal (pending_approval) and its challenge, audit it. Nothing moves until the tap.
/// </summary>
public static class RequestWithdrawal
{
    public sealed record Body(string? Asset, string? Amount, string? Address);

    public sealed record Command(Guid MemberId, string? Asset, string? Amount, string? Address, string? IdempotencyKey)
        : ICommand<Response>, IIdempotent
    {
        public string Operation => "withdrawals.request";
    }

    public sealed record Response(Guid Id, string Status, string ChallengeMessage);

    public sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            this.AssetAndAmount(c => c.Asset, c => c.Amount);
            RuleFor(c => c.Address).Custom((address, context) =>
            {
                if (!EthereumAddress.IsValid(address ?? "", out _, out var error))
                {
                    context.AddFailure(nameof(Command.Address), $"The address {error}.");
                }
            });
            RuleFor(c => c.Amount).Custom((amount, context) =>
            {
                // Checked here, with the other rules, so the request and its preview both refuse it before anything is held.
                var asset = Asset.Find(context.InstanceToValidate.Asset);
                if (asset is not null && AmountRules.Check(asset.Code, amount) is null
                    && !ChallengeMessage.FitsWithdrawal(Amounts.Parse(amount!, asset), asset))
                {
                    context.AddFailure(nameof(Command.Amount),
                        $"The amount is too long to show on your phone beside the address: at most {ChallengeMessage.LongestWithdrawalAmount(asset)} characters.");
                }
            });
        }
    }

    public sealed class Handler(
        ExchangeDbContext db, LedgerPostings ledger, ChallengeIssuer challenges, RequestLimits limits, TimeProvider clock, Infrastructure.CrashPoints crash)
        : ICommandHandler<Command, Response>
    {
        public async ValueTask<Response> Handle(Command command, CancellationToken cancellationToken)
        {
            await challenges.EnsureMemberCanBeChallengedAsync(command.MemberId, cancellationToken);
            var asset = Asset.Find(command.Asset)!;
            var amount = Amounts.Parse(command.Amount!, asset);
            limits.EnsureAtLeastMinimum(asset, amount);
            await limits.EnsureRoomForAnotherAsync(command.MemberId, cancellationToken);
            EthereumAddress.IsValid(command.Address!, out var address, out _);

            var withdrawal = new Withdrawal(Guid.CreateVersion7(), command.MemberId, asset, amount, address, clock.GetUtcNow());
            db.Withdrawals.Add(withdrawal);
            LogFields.NameRequest(withdrawal.Kind, withdrawal.Id);
            await ledger.HoldAsync(withdrawal, cancellationToken);
            var message = ChallengeMessage.ForWithdrawal(amount, asset, address);
            challenges.Issue(withdrawal, message);
            db.Audit("withdrawal.requested", withdrawal.AuditSubject, new
            {
                asset = asset.Code,
                amount = Amounts.Format(amount, asset),
                address,
                status = withdrawal.Status.ToWire(),
            }, withdrawal.CreatedAt);
            db.WhenCommitted(() => crash.At("after-hold"));
            return new Response(withdrawal.Id, withdrawal.Status.ToWire(), message);
        }
    }

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/api/withdrawals", async (Body body, HttpContext http, IMediator mediator) =>
        {
            var response = await mediator.Send(new Command(
                http.User.MemberId(), body.Asset, body.Amount, body.Address, http.Request.Headers["Idempotency-Key"].FirstOrDefault()));
            return Results.Accepted($"/api/withdrawals/{response.Id}", response);
        }).RequireAuthorization().LimitedAs(RateLimitedAs.Money);
}

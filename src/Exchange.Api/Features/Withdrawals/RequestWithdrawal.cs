using System.Text.Json.Nodes;
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
            // Registered before the challenge's send, so a crash here dies with the hold committed and nothing sent.
            db.WhenCommitted(() => crash.At("after-hold"));
            var message = ChallengeMessage.ForWithdrawal(amount, asset, address);
            challenges.Issue(withdrawal, message);
            db.Audit("withdrawal.requested", withdrawal.AuditSubject, new
            {
                asset = asset.Code,
                amount = Amounts.Format(amount, asset),
                address,
                status = withdrawal.Status.ToWire(),
            }, withdrawal.CreatedAt);
            return new Response(withdrawal.Id, withdrawal.Status.ToWire(), message);
        }
    }

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/api/withdrawals", async (Body body, HttpContext http, IMediator mediator) =>
        {
            var response = await mediator.Send(new Command(
                http.User.MemberId(), body.Asset, body.Amount, body.Address, http.Request.Headers["Idempotency-Key"].FirstOrDefault()));
            return Results.Accepted($"/api/withdrawals/{response.Id}", response);
        }).RequireAuthorization().LimitedAs(RateLimitedAs.Money)
            .WithTags("Withdrawals").WithSummary("Ask to withdraw to an outside address")
            .WithDescription("Holds the funds and challenges the member's VivoKey. Nothing moves until they tap. Refused with 400 and `errors[field]` for an unknown asset, " +
                "an amount ≤ 0, with too many decimals or too long to show beside 24 hex digits of the address on the phone, or an address that is not 0x + 40 hex digits " +
                "or fails its EIP-55 checksum; 409 when the amount is over the available balance. Send an `Idempotency-Key` header to make a retry safe.")
            .Produces<Response>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithRequestExample(new JsonObject { ["asset"] = "ETH", ["amount"] = "1.25", ["address"] = "0x71C7656EC7ab88b098defB751B7401B5f6d8976F" })
            .WithResponse(StatusCodes.Status202Accepted, "Accepted: the member's phone shows the challenge message", new JsonObject
            {
                ["id"] = "0193a0c4-7b7e-7c1a-9d2e-5f0b8a1c2d3e",
                ["status"] = "pending_approval",
                ["challengeMessage"] = "Withdraw 1.25 ETH to 0x71C7656EC7ab88b098…751B7401B5f6d8976F",
            })
            .WithResponse(StatusCodes.Status400BadRequest, "Refused: which field and why", new JsonObject
            {
                ["type"] = "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                ["title"] = "The request is not valid.",
                ["status"] = 400,
                ["errors"] = new JsonObject
                {
                    ["amount"] = new JsonArray("The amount has more than the 18 decimals ETH has."),
                    ["address"] = new JsonArray("The address fails its EIP-55 checksum."),
                },
            }, OpenApiMetadata.Problem)
            .WithResponse(StatusCodes.Status409Conflict, "The amount is over the available balance");
}

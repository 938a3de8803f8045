using Exchange.Domain.Common;
using FluentValidation;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Exchange.Api.Common.Http;

/// <summary>The one place exceptions become RFC 7807 problem details; endpoints do not catch them.</summary>
public sealed class ProblemDetailsExceptionHandler(IProblemDetailsService problems, ILogger<ProblemDetailsExceptionHandler> logger) : IExceptionHandler
{
    /// <summary>Where an answer's problem details are left for the refusal audit to read (HttpContext.Items).</summary>
    public const string ProblemItem = "exchange.problem";

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, errors) = exception switch
        {
            ValidationException v => (400, "The request is not valid.", v.Errors
                .GroupBy(e => Camel(e.PropertyName))
                .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).Distinct().ToArray())),
            InsufficientFundsException f => (409, f.Message, new Dictionary<string, string[]> { ["amount"] = [f.Message] }),
            InvalidTransitionException t => (409, t.Message, null),
            DomainException d => (400, d.Message, null),
            ConflictException c => (409, c.Message, c.Field is null ? null : new Dictionary<string, string[]> { [c.Field] = [c.Message] }),
            UnprocessableException u => (422, u.Message, new Dictionary<string, string[]> { [u.Field] = [u.Message] }),
            NotFoundException n => (404, n.Message, null),
            ForbiddenException f => (403, f.Message, null),
            UnauthorizedAccessException => (401, "Sign in first.", null),
            BadHttpRequestException b => (b.StatusCode, "The request could not be read.", null),
            // A unique index said no: another request for the same thing got there first.
            Microsoft.EntityFrameworkCore.DbUpdateException { InnerException: Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.UniqueViolation } } =>
                (409, "Another request for the same thing is already in progress.", null),
            _ => (0, "", null),
        };
        if (status == 0)
        {
            logger.LogError(exception, "Unhandled error on {Path}", http.Request.Path);
            return false;
        }

        var problem = new ProblemDetails { Status = status, Title = title };
        if (errors is not null)
        {
            problem.Extensions["errors"] = errors;
        }

        if (exception is DomainException domain)
        {
            problem.Extensions["code"] = domain.Code;
        }

        http.Response.StatusCode = status;
        http.Items[ProblemItem] = problem;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem, Exception = exception });
    }

    // A header's name (Idempotency-Key) is named as the client sends it; a body field's in camelCase.
    private static string Camel(string name) =>
        string.IsNullOrEmpty(name) ? "request" : name.Contains('-', StringComparison.Ordinal) ? name : char.ToLowerInvariant(name[0]) + name[1..];
}

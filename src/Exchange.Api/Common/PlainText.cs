using FluentValidation;
using FluentValidation.Results;

namespace Exchange.Api.Common;

/// <summary>
/// Free text from a request (a receiver, a reason, a filter, a header) holds no control characters. PostgreSQL
/// refuses U+0000 in text outright (an error, which would be a 500), and the others have no place in a name,
/// an id or a reason: refused with the field named before anything reaches the database.
/// </summary>
public static class PlainText
{
    public static bool HasControlCharacters(string? value) => value is not null && value.Any(char.IsControl);

    public static string Refusal(string field) => $"The {field} must not contain control characters.";

    public static IRuleBuilderOptions<T, string?> WithoutControlCharacters<T>(this IRuleBuilder<T, string?> rule, string field) =>
        rule.Must(value => !HasControlCharacters(value)).WithMessage(Refusal(field));

    /// <summary>For endpoints without a validator: a 400 naming each field of <paramref name="fields"/> that holds a control character.</summary>
    public static void EnsureNoControlCharacters(params (string Field, string? Value)[] fields)
    {
        var failures = fields.Where(f => HasControlCharacters(f.Value)).Select(f => new ValidationFailure(f.Field, Refusal(f.Field))).ToList();
        if (failures.Count > 0)
        {
            throw new ValidationException(failures);
        }
    }

    /// <summary>A value repeated in a message: control characters dropped, so the answer and its audit stay printable.</summary>
    public static string Printable(string? value) => value is null ? "" : string.Concat(value.Where(c => !char.IsControl(c)));
}

using Exchange.Api.Infrastructure.VivoKey;
using Xunit;

namespace Exchange.Api.Tests.VivoKeyBehaviours;

/// <summary>How the Validation API's answers are read: status first, the documented body second (pure logic).</summary>
public sealed class ValidationAnswerTests
{
    [Theory]
    [InlineData(401, "")]
    [InlineData(401, "<html><body>Unauthorized</body></html>")]
    [InlineData(401, """{"accepted":false,"error":"whatever","message":"x"}""")]
    [InlineData(403, "")]
    [InlineData(403, "<h1>403 Forbidden</h1>")]
    [InlineData(403, """{"accepted":false,"error":"token-expired","message":"x"}""")]
    [InlineData(400, """{"accepted":false,"error":"invalid-token","message":"x"}""")]
    [InlineData(200, """{"accepted":false,"error":"token-expired","message":"x"}""")]
    public void The_token_was_rejected(int status, string body) =>
        Assert.Equal(ValidationAnswer.TokenRejected, ValidationApiClient.Classify(status, body).Answer);

    [Theory]
    [InlineData(400, """{"accepted":false,"error":"invalid-callback","message":"callback must be registered"}""")]
    [InlineData(403, """{"accepted":false,"error":"insufficient-scope","message":"no Validate scope"}""")]
    [InlineData(404, "<h1>Not Found</h1>")]
    [InlineData(422, "")]
    [InlineData(409, """{"accepted":false,"error":"duplicate-id","message":"used"}""")]
    [InlineData(200, """{"accepted":false,"error":"invalid-message","message":"too long"}""")]
    public void A_refusal_is_not_retried_and_keeps_its_body(int status, string body)
    {
        var result = ValidationApiClient.Classify(status, body);
        Assert.Equal(ValidationAnswer.Refused, result.Answer);
        Assert.Equal(status, result.Status);
        Assert.Equal(body.Length == 0 ? null : body, result.Body);
    }

    [Theory]
    [InlineData(500, "")]
    [InlineData(502, "")]
    [InlineData(503, """{"accepted":false,"error":"server-error"}""")]
    [InlineData(408, "")]
    [InlineData(429, "slow down")]
    [InlineData(200, "<html>a proxy's page</html>")]
    [InlineData(200, """{"vivo_id":"x"}""")]
    public void No_usable_answer_is_retried(int status, string body) =>
        Assert.Equal(ValidationAnswer.Unavailable, ValidationApiClient.Classify(status, body).Answer);

    [Fact]
    public void An_accepted_POST_gives_its_vivo_id_a_number_too_and_none_longer_than_256()
    {
        Assert.Equal("vk-1", ValidationApiClient.Classify(200, """{"accepted":true,"vivo_id":"vk-1"}""").VivoId);
        Assert.Equal("42", ValidationApiClient.Classify(200, """{"accepted":true,"vivo_id":42}""").VivoId);
        var tooLong = ValidationApiClient.Classify(200, "{\"accepted\":true,\"vivo_id\":\"" + new string('v', 257) + "\"}");
        Assert.Equal(ValidationAnswer.Accepted, tooLong.Answer);
        Assert.Null(tooLong.VivoId);
    }

    [Fact]
    public void A_long_refusal_body_is_kept_shortened()
    {
        var result = ValidationApiClient.Classify(400, new string('x', 5000));
        Assert.Equal(ValidationApiClient.KeptBodyCharacters + 1, result.Body!.Length);
    }
}

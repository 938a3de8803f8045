namespace VivoKey.Simulator.Controls;

/// <summary>
/// GET and PUT /simulator/behaviours: the switches for what VivoKey's documentation leaves open,
/// so a relying party's tests can change them between requests without a restart.
/// </summary>
public static class BehaviourControls
{
    public sealed record BehaviourView(bool IssueRefreshTokens, bool RefreshRevokesPrevious, bool DeduplicateIds, string IdTokenAlgorithm);

    /// <summary>Each field absent (or null) leaves its switch as it is.</summary>
    public sealed record BehaviourChange(bool? IssueRefreshTokens, bool? RefreshRevokesPrevious, bool? DeduplicateIds, string? IdTokenAlgorithm);

    public static void Map(RouteGroupBuilder group)
    {
        group.MapGet("/behaviours", (Behaviours behaviours) => View(behaviours));
        group.MapPut("/behaviours", (BehaviourChange change, Behaviours behaviours) =>
        {
            // Checked before anything changes: a refused PUT changes nothing.
            if (change.IdTokenAlgorithm is { } algorithm && algorithm != behaviours.IdTokenAlgorithm)
            {
                return Results.Problem(
                    statusCode: 400,
                    title: $"id_token_algorithm is chosen at start-up only (Simulator:IdTokenAlgorithm); this simulator signs ID tokens with {behaviours.IdTokenAlgorithm}.");
            }

            behaviours.IssueRefreshTokens = change.IssueRefreshTokens ?? behaviours.IssueRefreshTokens;
            behaviours.RefreshRevokesPrevious = change.RefreshRevokesPrevious ?? behaviours.RefreshRevokesPrevious;
            behaviours.DeduplicateIds = change.DeduplicateIds ?? behaviours.DeduplicateIds;
            return Results.Ok(View(behaviours));
        });
    }

    private static BehaviourView View(Behaviours b) =>
        new(b.IssueRefreshTokens, b.RefreshRevokesPrevious, b.DeduplicateIds, b.IdTokenAlgorithm);
}

namespace VivoKey.Simulator.Identity;

/// <summary>The relying parties registered with the simulator and their Validation API callback URLs.</summary>
public sealed class ClientRegistry(SimulatorOptions options)
{
    public ClientOptions? Find(string? clientId) =>
        options.Clients.FirstOrDefault(c => string.Equals(c.ClientId, clientId, StringComparison.Ordinal));

    public bool IsRegisteredCallback(string clientId, string callback) =>
        Find(clientId)?.CallbackUrls.Contains(callback, StringComparer.Ordinal) == true;
}

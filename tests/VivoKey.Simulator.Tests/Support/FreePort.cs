using System.Net;
using System.Net.Sockets;

namespace VivoKey.Simulator.Tests.Support;

public static class FreePort
{
    /// <summary>A loopback port nothing listens on now; hosts that must know their address before they start take one.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

using System.Net;
using System.Net.Sockets;

namespace Exchange.Testing;

public static class FreePort
{
    /// <summary>
    /// A loopback port nothing listens on now. Another process may take it before ours binds it, so
    /// whatever starts a server on it should be ready to try again with the next one.
    /// </summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

using System.Net;
using System.Net.Sockets;

namespace Exchange.Testing;

public static class FreePort
{
    // Below Linux's ephemeral range (32768–60999), where every outgoing connection takes its local
    // port: a port handed out there is soon taken by some client socket of the test run itself.
    private const int First = 20000;
    private const int Last = 32000;

    /// <summary>
    /// Every port handed out in this process: a fixture chooses its ports well before its processes bind them, and
    /// a port chosen twice meanwhile was once bound by another class's server first.
    /// </summary>
    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// A loopback port nothing listens on now, outside the ephemeral range, never handed out before in this process.
    /// Another process may still take it before ours binds it, so whatever starts a server on it should be ready to
    /// try again.
    /// </summary>
    public static int Next()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(First, Last);
            lock (HandedOut)
            {
                if (!HandedOut.Add(port))
                {
                    continue;
                }
            }

            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try another.
            }
        }

        throw new InvalidOperationException($"No free loopback port between {First} and {Last}.");
    }

    /// <summary>True when starting a server failed only because its port was taken meanwhile.</summary>
    public static bool IsAddressInUse(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
            {
                return true;
            }
        }

        return false;
    }
}

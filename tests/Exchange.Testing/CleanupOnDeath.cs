using System.Diagnostics;

namespace Exchange.Testing;

/// <summary>
/// Runs a shell cleanup when this process dies, however it dies. A ProcessExit handler is not
/// enough: vstest kills its test host moments after the last test, cutting such handlers short,
/// and a crash runs none. So a detached shell waits on a pipe only we hold the other end of; when
/// we die the kernel closes our end, the shell reads end-of-file and cleans up. Whoever cleans up
/// normally calls <see cref="Cancel"/>, and the shell exits doing nothing.
/// </summary>
internal sealed class CleanupOnDeath
{
    private readonly Process _watcher;
    private int _cancelled;

    private CleanupOnDeath(Process watcher) => _watcher = watcher;

    /// <param name="script">POSIX shell commands; quote what they name with <see cref="Quote"/>.</param>
    public static CleanupOnDeath Start(string script)
    {
        // setsid -f forks the shell into a session of its own: no descendant of ours, it survives
        // whoever kills our process tree. Its output goes nowhere: it must not hold our pipes open.
        var start = new ProcessStartInfo("setsid") { RedirectStandardInput = true, UseShellExecute = false };
        foreach (var argument in new[] { "-f", "/bin/sh", "-c", $"exec >/dev/null 2>&1; read -r word; [ \"$word\" = done ] || {{ {script}; }}" })
        {
            start.ArgumentList.Add(argument);
        }

        // Our end of the pipe is close-on-exec, so no other child of ours inherits it and keeps it open.
        return new CleanupOnDeath(Process.Start(start) ?? throw new InvalidOperationException("Could not start setsid."));
    }

    /// <summary>Single-quotes a word for the shell.</summary>
    public static string Quote(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>The cleanup was done another way: the watcher exits without acting.</summary>
    public void Cancel()
    {
        if (Interlocked.Exchange(ref _cancelled, 1) == 1)
        {
            return;
        }

        try
        {
            _watcher.StandardInput.WriteLine("done");
            _watcher.StandardInput.Close();
        }
        catch (IOException)
        {
            // The watcher is gone already.
        }

        _watcher.Dispose();
    }
}

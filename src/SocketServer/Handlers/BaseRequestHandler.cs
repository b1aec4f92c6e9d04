namespace SocketServer;

/// <summary>
/// Python's <c>BaseRequestHandler</c>: override <see cref="Handle"/> (and, if needed,
/// <see cref="Setup"/> and <see cref="Finish"/>). <see cref="Finish"/> runs even when
/// <see cref="Handle"/> throws. Runs under the sync, threading and pool models.
/// </summary>
public abstract class BaseRequestHandler : RequestHandler
{
    /// <summary>Runs before <see cref="Handle"/>; nothing by default.</summary>
    protected virtual void Setup()
    {
    }

    /// <summary>Serves the request; nothing by default.</summary>
    protected virtual void Handle()
    {
    }

    /// <summary>Runs after <see cref="Handle"/>, also when it threw; nothing by default.</summary>
    protected virtual void Finish()
    {
    }

    internal void Run()
    {
        Setup();
        try
        {
            Handle();
        }
        finally
        {
            Finish();
        }
    }
}

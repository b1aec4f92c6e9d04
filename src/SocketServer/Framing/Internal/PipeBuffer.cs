using System.IO.Pipelines;

namespace SocketServer.Framing.Internal;

/// <summary>What a pipe holds unread, asked without waiting and without consuming anything.</summary>
internal static class PipeBuffer
{
    /// <summary>
    /// The bytes <paramref name="reader"/> has buffered and nobody consumed. A plain <c>TryRead</c> can answer
    /// "nothing" while bytes sit there (a stream pipe does once its last reader examined them all), so the
    /// pending read is cancelled first: a cancelled read returns whatever is buffered, at once. Nothing is
    /// consumed or examined; no read may be in progress.
    /// </summary>
    public static long Count(PipeReader reader)
    {
        reader.CancelPendingRead();
        if (!reader.TryRead(out var result))
        {
            return 0;
        }

        var count = result.Buffer.Length;
        reader.AdvanceTo(result.Buffer.Start);
        return count;
    }
}

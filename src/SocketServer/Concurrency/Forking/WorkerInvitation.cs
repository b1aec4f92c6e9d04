using System.Globalization;

namespace SocketServer.Forking;

/// <summary>
/// What a master puts in a worker's environment so the worker, running the same program, knows it
/// is one: the control socket to connect to, its number, a one-time token, and which of the
/// program's forking servers (counted in construction order) it serves.
/// </summary>
internal sealed record WorkerInvitation(string ControlPath, int Worker, byte[] Token, int Server)
{
    /// <summary>The environment variable a master sets for its workers.</summary>
    public const string Variable = "SOCKETSERVER_WORKER";

    private static readonly Lazy<WorkerInvitation?> Received = new(Take);

    /// <summary>The invitation this process was started with, or null when it is not a worker.</summary>
    public static WorkerInvitation? Current => Received.Value;

    public string Format() => string.Join(
        '\n',
        ControlPath,
        Worker.ToString(CultureInfo.InvariantCulture),
        Convert.ToHexString(Token),
        Server.ToString(CultureInfo.InvariantCulture));

    private static WorkerInvitation? Take()
    {
        var value = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        // Read once, then forgotten: processes this worker's handlers start are not workers.
        Environment.SetEnvironmentVariable(Variable, null);
        var parts = value.Split('\n');
        if (parts.Length != 4
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var worker)
            || !int.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var server)
            || parts[2].Length != WorkerMessages.TokenLength * 2)
        {
            throw new SocketServerException($"{Variable} is set but malformed; it is meant for worker processes a forking server starts, not to be set by hand.");
        }

        return new WorkerInvitation(parts[0], worker, Convert.FromHexString(parts[2]), server);
    }
}

namespace SocketServer.Exec;

/// <summary>
/// What <c>sockserv exec serve --legacy</c> serves: the course's "simple ssh" protocol, with
/// limits the course's server lacks. Every default is safe: loopback only, a minute per command,
/// 64 MiB of output per command.
/// </summary>
public sealed class LegacyExecOptions
{
    // The timers behind the time limits count milliseconds in an int.
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromMilliseconds(int.MaxValue - 1);

    /// <summary>
    /// The address to bind. Default <c>127.0.0.1</c>. Only loopback addresses are accepted: the
    /// protocol has no authentication, so anything else is refused by <see cref="LegacyExecServer.Create"/>.
    /// </summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The port to bind; 0 picks a free one. Default 9998.</summary>
    public int Port { get; set; } = 9998;

    /// <summary>
    /// How long a command may run. Default 60 seconds. A command that runs longer has its whole
    /// process group killed; the output it made until then is still sent, followed by a note.
    /// </summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The most output (stdout and stderr together) kept for one command. Default 64 MiB, so the
    /// server's memory stays bounded. A command that writes more is killed, and the client gets the
    /// first <see cref="MaxOutputBytes"/> bytes followed by a note that the output was cut. At most
    /// <see cref="Array.MaxLength"/>.
    /// </summary>
    public int MaxOutputBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>
    /// How long to wait for the client's <c>Start</c> after a <c>Ready|&lt;length&gt;</c> header.
    /// Default 30 seconds. A client that answers anything else, or nothing in time, is disconnected.
    /// </summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Clients connected at once; beyond it new ones are refused. Default 64 (each may run one command at a time).</summary>
    public int MaxConnections { get; set; } = 64;

    /// <summary>The shell commands run in, as <c>SHELL -c COMMAND</c> (Python's <c>shell=True</c>). Default <c>/bin/sh</c>.</summary>
    public string Shell { get; set; } = "/bin/sh";

    /// <summary>Throws for a value no server could run with.</summary>
    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Host, nameof(Host));
        ArgumentException.ThrowIfNullOrWhiteSpace(Shell, nameof(Shell));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(CommandTimeout, TimeSpan.Zero, nameof(CommandTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(StartTimeout, TimeSpan.Zero, nameof(StartTimeout));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(CommandTimeout, MaxTimeout, nameof(CommandTimeout));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(StartTimeout, MaxTimeout, nameof(StartTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOutputBytes, 1, nameof(MaxOutputBytes));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxOutputBytes, Array.MaxLength, nameof(MaxOutputBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnections, 1, nameof(MaxConnections));
    }

    /// <summary>A copy, so that changing the options after the server started changes nothing under it.</summary>
    internal LegacyExecOptions Snapshot() => (LegacyExecOptions)MemberwiseClone();
}

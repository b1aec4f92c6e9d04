namespace SocketServer.Exec;

/// <summary>
/// What <c>sockserv exec serve --legacy</c> serves: the course's "simple ssh" protocol, with
/// limits the course's server lacks. Every default is safe: loopback only, a minute per command,
/// 16 MiB of output per command and 256 MiB for all clients at once, 10 seconds to answer a header.
/// </summary>
public sealed class LegacyExecOptions
{
    // The timers behind the time limits count milliseconds in an int.
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromMilliseconds(int.MaxValue - 1);

    /// <summary>
    /// The address to bind. Default <c>127.0.0.1</c>. Only loopback addresses are accepted: the
    /// protocol has no authentication, so anything else is refused by <see cref="LegacyExecServer.Create(LegacyExecOptions, Microsoft.Extensions.Logging.ILoggerFactory?)"/>.
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
    /// The most output (stdout and stderr together) kept for one command. Default 16 MiB. The
    /// protocol sends the length before the output, so the whole output is held until the client has
    /// it. A command that writes more is killed, and the client gets the first
    /// <see cref="MaxOutputBytes"/> bytes followed by a note that the output was cut. At most
    /// <see cref="Array.MaxLength"/>.
    /// </summary>
    public int MaxOutputBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// The most output held for all clients at once. Default 256 MiB. Output is held from the moment
    /// a command writes it until its client has it, has gone, or missed <see cref="StartTimeout"/>,
    /// and is given back to the system then. A command whose output would go past it is killed, and
    /// its client gets what it was given followed by a note that the server's limit cut it.
    /// </summary>
    public long MaxTotalOutputBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// How long to wait for the client's <c>Start</c> after a <c>Ready|&lt;length&gt;</c> header.
    /// Default 10 seconds (the course's client answers at once). A client that answers anything else,
    /// or nothing in time, is disconnected and its output dropped.
    /// </summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a client may wait between commands, sending nothing, before it is disconnected.
    /// Default 60 seconds (the course's client sends a command as soon as it is typed, and a slot
    /// held by a silent client is one a real one cannot have); <see cref="Timeout.InfiniteTimeSpan"/>: never.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long, once the command's own output has been read, its output pipes may stay open before
    /// the server stops reading them and answers. Default 2 seconds. What the command wrote is read
    /// to its end whatever this is; only a process that left the command's process group
    /// (<c>setsid</c>, a daemon) can hold the pipes open, and what it writes after the grace is not sent.
    /// </summary>
    public TimeSpan OutputGrace { get; set; } = TimeSpan.FromSeconds(2);

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
        if (IdleTimeout != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(IdleTimeout, TimeSpan.Zero, nameof(IdleTimeout));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(IdleTimeout, MaxTimeout, nameof(IdleTimeout));
        }
        ArgumentOutOfRangeException.ThrowIfGreaterThan(CommandTimeout, MaxTimeout, nameof(CommandTimeout));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(StartTimeout, MaxTimeout, nameof(StartTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOutputBytes, 1, nameof(MaxOutputBytes));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxOutputBytes, Array.MaxLength, nameof(MaxOutputBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTotalOutputBytes, 1, nameof(MaxTotalOutputBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(OutputGrace, TimeSpan.Zero, nameof(OutputGrace));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(OutputGrace, MaxTimeout, nameof(OutputGrace));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnections, 1, nameof(MaxConnections));
    }

    /// <summary>A copy, so that changing the options after the server started changes nothing under it.</summary>
    internal LegacyExecOptions Snapshot() => (LegacyExecOptions)MemberwiseClone();
}

using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using SocketServer.Internal;

namespace SocketServer.Forking;

/// <summary>
/// A worker process's end of its master: connects to the master's control socket, says who it is,
/// and turns what the master hands over (connections with their descriptors, datagrams) into
/// requests for this process's server. Answers the master's heartbeat, reports each request done,
/// and ends when the master says stop — or goes away, in which case the process also makes sure it
/// exits soon after, whatever its handlers are doing.
/// </summary>
internal sealed partial class WorkerSession : RequestFeed, IDisposable
{
    /// <summary>How long a worker whose master vanished gives its handlers beyond the drain timeout before it kills itself.</summary>
    private static readonly TimeSpan OrphanGrace = TimeSpan.FromSeconds(2);

    private static readonly TaskCompletionSource SessionEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when this process's worker session ends: the other forking servers of a worker process end with it.</summary>
    public static Task ProcessSessionEnded => SessionEnded.Task;

    private readonly Socket _channel;
    private readonly string _controlPath;
    private readonly int _masterPid;
    private readonly Lock _sendGate = new();
    private readonly ConcurrentQueue<Request> _queue = new();
    private readonly SemaphoreSlim _ready = new(0);
    private readonly Dictionary<Request, long> _ids = new(ReferenceEqualityComparer.Instance);
    private readonly Thread _reader;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    private TimeSpan _drainTimeout = TimeSpan.FromSeconds(5);
    private Timer? _orphanWatchdog;
    private volatile bool _ended;
    private bool _stopped;
    private int _disposed;

    private WorkerSession(Socket channel, string controlPath, RequestKind kind, EndPoint serverAddress, Socket? socket)
    {
        _channel = channel;
        _controlPath = controlPath;
        _masterPid = SysGetParentId();
        Kind = kind;
        ServerAddress = serverAddress;
        Socket = socket;
        _reader = new Thread(Read) { IsBackground = true, Name = "socketserver worker channel" };
    }

    public override RequestKind Kind { get; }

    public override EndPoint ServerAddress { get; }

    public override Socket? Socket { get; }

    public override bool IsEnded => _ended && _queue.IsEmpty;

    [LibraryImport("libc", EntryPoint = "setpgid", SetLastError = true)]
    private static partial int SysSetProcessGroup(int pid, int group);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "getppid")]
    private static partial int SysGetParentId();

    /// <summary>Connects to the master named by <paramref name="invitation"/> and takes its welcome.</summary>
    public static WorkerSession Connect(WorkerInvitation invitation)
    {
        // Out of the terminal's process group: Ctrl+C reaches the master alone, which drains and then
        // stops its workers; a worker must not stop on its own while the master still hands it work.
        _ = SysSetProcessGroup(0, 0);

        var channel = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        try
        {
            channel.Connect(new UnixDomainSocketEndPoint(invitation.ControlPath));
            // The hello carries this end of the channel itself: holding it, the master can take back
            // the requests it handed over that this process never read, should it stop or die
            // (docs/forking.md, "Liveness").
            Span<byte> hello = stackalloc byte[32];
            var error = DescriptorPassing.Send(channel, hello[..WorkerMessages.WriteHello(hello, invitation.Worker, invitation.Token)], channel.Handle);
            if (error != 0)
            {
                throw new SocketException(error);
            }

            var buffer = new byte[1024];
            var received = DescriptorPassing.Receive(channel, buffer, out var descriptor);
            if (received < 2 || buffer[0] != WorkerMessages.Welcome)
            {
                DescriptorPassing.Close(descriptor);
                throw new SocketServerException("the master closed the control connection without a welcome (it may be stopping, or this worker was not expected).");
            }

            var kind = (RequestKind)buffer[1];
            WorkerMessages.ReadAddress(buffer.AsSpan(2, received - 2), out var address);
            var socket = descriptor >= 0 ? new Socket(new SafeSocketHandle(descriptor, ownsHandle: true)) : null;
            if (kind == RequestKind.Datagram && socket is null)
            {
                throw new SocketServerException("the master serves datagrams but sent no socket to answer them on.");
            }

            // The master's datagram socket is non-blocking, and the flag belongs to the socket both
            // processes share: say so here rather than change it under the master.
            socket?.Blocking = false;
            return new WorkerSession(channel, invitation.ControlPath, kind, address, socket);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            channel.Dispose();
            throw new SocketServerException($"this worker process could not reach its master at {invitation.ControlPath}: {e.Message}", e);
        }
        catch
        {
            channel.Dispose();
            throw;
        }
    }

    /// <summary>Starts taking requests for <paramref name="server"/>.</summary>
    public void Start(BaseServer server)
    {
        _logger = server.ModelLogger;
        _drainTimeout = server.DrainTimeout;
        _reader.Start();
    }

    public override Request? Take(TimeSpan timeout)
    {
        if (!_ready.Wait(timeout))
        {
            return null;
        }

        return Dequeue();
    }

    public override async ValueTask<Request?> TakeAsync(CancellationToken cancellationToken)
    {
        await _ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        return Dequeue();
    }

    private Request? Dequeue()
    {
        if (_queue.TryDequeue(out var request))
        {
            return request;
        }

        // The permit was the end-of-feed one: leave it for the next taker.
        _ready.Release();
        return null;
    }

    public override void Completed(Request request)
    {
        long id;
        lock (_ids)
        {
            if (!_ids.Remove(request, out id))
            {
                return;
            }
        }

        SendDone(id);
    }

    private void SendDone(long id)
    {
        Span<byte> done = stackalloc byte[16];
        Send(done[..WorkerMessages.WriteId(done, WorkerMessages.Done, id)]);
    }

    private void Send(ReadOnlySpan<byte> message)
    {
        lock (_sendGate)
        {
            try
            {
                _channel.Send(message);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The master is gone: the reader notices and ends the feed.
            }
        }
    }

    private void Read()
    {
        var buffer = new byte[WorkerMessages.MaxLength];
        string reason = "the master closed the control connection";
        try
        {
            while (true)
            {
                var received = DescriptorPassing.Receive(_channel, buffer, out var descriptor);
                if (received == 0)
                {
                    DescriptorPassing.Close(descriptor);
                    break;
                }

                var message = buffer.AsSpan(0, received);
                switch (message[0])
                {
                    case WorkerMessages.Connection:
                        Deliver(message, descriptor);
                        break;
                    case WorkerMessages.Datagram:
                        DescriptorPassing.Close(descriptor);
                        Deliver(message, -1);
                        break;
                    case WorkerMessages.Ping:
                        DescriptorPassing.Close(descriptor);
                        Send([WorkerMessages.Pong]);
                        break;
                    case WorkerMessages.Stop:
                        // Keep reading: pings still need answers until this process has drained and exits.
                        DescriptorPassing.Close(descriptor);
                        WorkerLog.Stopping(_logger, Environment.ProcessId);
                        _stopped = true;
                        End();
                        break;
                    default:
                        DescriptorPassing.Close(descriptor);
                        break;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            reason = e.Message;
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        // The master died (or closed on us): serve out what we hold, then make sure this process ends.
        if (!_stopped)
        {
            WorkerLog.MasterGone(_logger, Environment.ProcessId, reason);
        }

        End();
        if (!_stopped && MasterIsGone())
        {
            // The master is dead, so nothing else will remove its control socket's directory.
            TryRemove(Path.GetDirectoryName(_controlPath));
        }

        _orphanWatchdog = new Timer(static _ => SysKill(Environment.ProcessId, 9), null, _drainTimeout + OrphanGrace, System.Threading.Timeout.InfiniteTimeSpan);
    }

    // A dying process closes its descriptors before the kernel hands its children to a new parent,
    // so the channel's end can come a moment before getppid() changes: give it up to a second.
    private bool MasterIsGone()
    {
        var deadline = Environment.TickCount64 + 1000;
        while (SysGetParentId() == _masterPid)
        {
            if (Environment.TickCount64 > deadline)
            {
                return false;
            }

            Thread.Sleep(10);
        }

        return true;
    }

    private static void TryRemove(string? directory)
    {
        try
        {
            if (directory is not null)
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Another worker of the same master got there first, or it is not ours to remove.
        }
    }

    private void Deliver(ReadOnlySpan<byte> message, nint descriptor)
    {
        if (message.Length < 9)
        {
            DescriptorPassing.Close(descriptor);
            return;
        }

        var id = WorkerMessages.ReadId(message);
        Request request;
        try
        {
            var offset = 9 + WorkerMessages.ReadAddress(message[9..], out var client);
            if (message[0] == WorkerMessages.Connection)
            {
                if (descriptor < 0)
                {
                    // The connection did not arrive (this process is out of descriptors, say): the
                    // master must still hear it is over, or it would count it in flight for ever.
                    throw new InvalidDataException("a connection arrived without its descriptor (is this process out of file descriptors?)");
                }

                request = new StreamRequest(new Socket(new SafeSocketHandle(descriptor, ownsHandle: true)), client);
            }
            else
            {
                var packet = message[offset..];
                var rented = ArrayPool<byte>.Shared.Rent(Math.Max(1, packet.Length));
                packet.CopyTo(rented);
                request = new DatagramRequest(rented, packet.Length, Socket!, client);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            DescriptorPassing.Close(descriptor);
            WorkerLog.Undeliverable(_logger, Environment.ProcessId, e.Message);
            SendDone(id);
            return;
        }

        lock (_ids)
        {
            _ids[request] = id;
        }

        _queue.Enqueue(request);
        _ready.Release();
    }

    private void End()
    {
        if (!_ended)
        {
            _ended = true;
            _ready.Release();
            SessionEnded.TrySetResult();
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        End();
        try
        {
            _channel.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }

        _channel.Dispose();
        while (_queue.TryDequeue(out var left))
        {
            left.Dispose();
        }
    }
}

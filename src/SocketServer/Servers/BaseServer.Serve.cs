using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SocketServer.Internal;
using SocketServer.Tls;

namespace SocketServer;

// The serving loop, Shutdown, HandleRequest and the one path every request takes:
// get → verify → hand to the model → handler → shutdown_request.
public abstract partial class BaseServer
{
    private readonly ManualResetEventSlim _isShutDown = new(initialState: true);
    private volatile bool _shutdownRequested;
    private CancellationTokenSource? _serveCancellation;
    private int _servingThreadId;
    private int _serving;
    private Selectors.Selector? _waiter;
    private readonly AcceptBackoff _acceptBackoff = new();
    private readonly LogLimiter _acceptFailedLog = new();

    // One descriptor held back for when accept fails for want of descriptors (EMFILE/ENFILE): given up,
    // it lets the server take the waiting connection and refuse it cleanly (counted and logged as a
    // refusal) instead of leaving it in the backlog and failing accept again and again. libev's trick.
    private Microsoft.Win32.SafeHandles.SafeFileHandle? _spareDescriptor;
    private readonly LogLimiter _refusedLog = new();
    private readonly LogLimiter _idleLog = new();
    private FirstBytesWaiter? _firstBytes;
    private readonly List<Selectors.SelectorReady> _waiterReady = [];

    // A stream server's connection instruments and their attributes, built once when it starts serving.
    private ConnectionMetrics? _metrics;

    /// <summary>
    /// Python's <c>serve_forever</c>: handles requests until <see cref="Shutdown"/>. Waits at most
    /// <paramref name="pollInterval"/> (default half a second) for a request before checking for a
    /// shutdown and calling <see cref="ServiceActions"/>.
    /// </summary>
    public void ServeForever(TimeSpan? pollInterval = null)
    {
        var interval = pollInterval ?? DefaultPollInterval;
        ArgumentOutOfRangeException.ThrowIfLessThan(interval, TimeSpan.Zero, nameof(pollInterval));
        BeginServing();
        try
        {
            while (!_shutdownRequested)
            {
                if (_feed is not null)
                {
                    Dispatch(_feed.Take(interval));
                    if (_feed.IsEnded)
                    {
                        break;
                    }
                }
                else if (WaitForRequest(interval) && !_shutdownRequested && !HandleRequestNoBlock(out var retryIn))
                {
                    // Out of descriptors (or memory): the socket stays readable, so pause instead of spinning.
                    _stopping.Token.WaitHandle.WaitOne(retryIn);
                }

                ServiceActions();
                ReportSuppressedLogs();
            }
        }
        finally
        {
            EndServing();
        }
    }

    /// <summary>
    /// Serves until <paramref name="cancellationToken"/> is cancelled or <see cref="Shutdown"/> is
    /// called, waiting for requests asynchronously; <see cref="ServiceActions"/> runs after each
    /// request and every <paramref name="pollInterval"/> when idle. Returns normally when stopped.
    /// </summary>
    public async Task ServeForeverAsync(TimeSpan? pollInterval = null, CancellationToken cancellationToken = default)
    {
        var interval = pollInterval ?? DefaultPollInterval;
        ArgumentOutOfRangeException.ThrowIfLessThan(interval, TimeSpan.Zero, nameof(pollInterval));
        BeginServing();
        using var serving = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Volatile.Write(ref _serveCancellation, serving);
        var token = serving.Token;
        using var poll = new PollWait(token);
        try
        {
            Task<Request?>? pending = null;
            while (!_shutdownRequested && !token.IsCancellationRequested)
            {
                Request? request;
                if (pending is null)
                {
                    if (_feed is { IsEnded: true })
                    {
                        break;
                    }

                    HoldSpareDescriptor();
                    var next = _feed?.TakeAsync(token) ?? GetRequestAsync(token);
                    if (next.IsCompletedSuccessfully)
                    {
                        _acceptBackoff.Reset();
                        Dispatch(next.Result);
                        ServiceActions();
                        continue;
                    }

                    pending = next.AsTask();
                }

                await poll.WaitAsync(pending, interval).ConfigureAwait(false);
                if (!pending.IsCompleted)
                {
                    if (token.IsCancellationRequested)
                    {
                        break;
                    }

                    ServiceActions();
                    ReportSuppressedLogs();
                    continue;
                }

                try
                {
                    request = await pending.ConfigureAwait(false);
                    pending = null;
                    _acceptBackoff.Reset();
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    break;
                }
                catch (ObjectDisposedException) when (_shutdownRequested || Socket is null)
                {
                    break;
                }
                catch (SocketException e) when (!SocketErrors.IsTransientAccept(e.SocketErrorCode))
                {
                    // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): the listener stays
                    // ready, so retrying at once spins and floods the log. Pause, longer each time, as
                    // Kestrel and Go's net package do; the connections we have are served meanwhile.
                    pending = null;
                    if (e.SocketErrorCode == SocketError.TooManyOpenSockets && RefuseWithSpareDescriptor())
                    {
                        continue;
                    }

                    var delay = AcceptFailed(e);
                    try
                    {
                        await Task.Delay(delay, token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (token.IsCancellationRequested)
                    {
                        break;
                    }

                    continue;
                }

                Dispatch(request);
                ServiceActions();
            }

            if (pending is not null)
            {
                // Cancelled above, but a request may have slipped in first: close it rather than leak it,
                // and observe a failure so it is never reported as unobserved.
                _ = pending.ContinueWith(
                    static t =>
                    {
                        if (t.IsCompletedSuccessfully)
                        {
                            t.Result?.Dispose();
                        }
                        else
                        {
                            _ = t.Exception;
                        }
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
        finally
        {
            Volatile.Write(ref _serveCancellation, null);
            EndServing();
        }
    }

    /// <summary>Serves until <paramref name="cancellationToken"/> is cancelled or <see cref="Shutdown"/> is called.</summary>
    public Task ServeForeverAsync(CancellationToken cancellationToken) => ServeForeverAsync(null, cancellationToken);

    /// <summary>True while <see cref="ServeForever"/> or <see cref="ServeForeverAsync(TimeSpan?, CancellationToken)"/> runs.</summary>
    public bool IsServing => Volatile.Read(ref _serving) != 0;

    /// <summary>
    /// Python's <c>shutdown</c>: tells the serving loop to stop and returns once it has. Safe from any
    /// thread; from a handler running on the serving thread it only asks (waiting would deadlock).
    /// Returns at once when the server is not serving.
    /// </summary>
    public void Shutdown()
    {
        _shutdownRequested = true;
        CancelServing();
        if (Environment.CurrentManagedThreadId != Volatile.Read(ref _servingThreadId))
        {
            _isShutDown.Wait();
        }
    }

    /// <summary>
    /// Python's <c>handle_request</c>: handles one request, waiting at most <see cref="Timeout"/> for
    /// it; when none comes, calls <see cref="HandleTimeout"/> instead.
    /// </summary>
    public void HandleRequest()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0 || (Socket is null && _feed is null), this);
        BuildMetrics();
        if (_feed is not null)
        {
            if (_feed.Take(Timeout ?? System.Threading.Timeout.InfiniteTimeSpan) is { } fed)
            {
                Dispatch(fed);
            }
            else
            {
                HandleTimeout();
            }
        }
        else if (WaitForRequest(Timeout ?? System.Threading.Timeout.InfiniteTimeSpan))
        {
            HandleRequestNoBlock(out _);
        }
        else
        {
            HandleTimeout();
        }
    }

    private void CancelServing()
    {
        try
        {
            Volatile.Read(ref _serveCancellation)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The loop ended and disposed its source between our read and Cancel: nothing left to stop.
        }
    }

    private void BeginServing()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _serving, 1) != 0)
        {
            throw new InvalidOperationException("The server is already serving.");
        }

        try
        {
            Model.Starting(this);
        }
        catch
        {
            Volatile.Write(ref _serving, 0);
            throw;
        }

        BuildMetrics();
        _isShutDown.Reset();
        Volatile.Write(ref _servingThreadId, Environment.CurrentManagedThreadId);
        if (_feed is null)
        {
            ServerLog.Serving(Logger, Kind == RequestKind.Stream ? "stream" : "datagram", ServerAddress, Model.Name);
        }
    }

    /// <summary>A stream server's instrument attributes, once (serving, or the first HandleRequest).</summary>
    private void BuildMetrics()
    {
        if (_metrics is null && Kind == RequestKind.Stream)
        {
            _metrics = new ConnectionMetrics(ServerAddress, Model.Name);
        }
    }

    private void EndServing()
    {
        _shutdownRequested = false;
        Volatile.Write(ref _servingThreadId, 0);
        Volatile.Write(ref _serving, 0);
        if (_feed is null)
        {
            ServerLog.Stopped(Logger, ServerAddress);
        }

        _isShutDown.Set();
    }

    /// <summary>
    /// Waits until the socket has a request or the time passes; false when it passed or the socket
    /// closed. Python's <c>_ServerSelector</c>: a poll selector (select on Windows) watching the one socket.
    /// </summary>
    private bool WaitForRequest(TimeSpan timeout)
    {
        var socket = Socket;
        if (socket is null)
        {
            return false;
        }

        try
        {
            if (_waiter?.GetKey(socket) is null)
            {
                _waiter?.Dispose();
                _waiter = OperatingSystem.IsWindows() ? new Selectors.SelectSelector() : new Selectors.PollSelector();
                _waiter.Register(socket, Selectors.SelectorEvents.Read);
            }

            // Hold the handle while waiting, as Socket.Poll does: closing the socket from another
            // thread then shuts it down, which wakes the wait, instead of leaving it on a dead number.
            var added = false;
            socket.SafeHandle.DangerousAddRef(ref added);
            try
            {
                _waiter.Select(timeout == System.Threading.Timeout.InfiniteTimeSpan ? null : timeout, _waiterReady);
            }
            finally
            {
                if (added)
                {
                    socket.SafeHandle.DangerousRelease();
                }
            }

            return _waiterReady.Count > 0;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Takes and dispatches one request; false when accepting failed and the caller should wait <paramref name="retryIn"/>.</summary>
    private bool HandleRequestNoBlock(out TimeSpan retryIn)
    {
        retryIn = TimeSpan.Zero;
        HoldSpareDescriptor();
        Request? request;
        try
        {
            request = GetRequest();
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
        catch (SocketException e)
        {
            // Python returns quietly on OSError here; we log what was not a lost race, and back off.
            if (SocketErrors.IsTransientAccept(e.SocketErrorCode))
            {
                return true;
            }

            if (e.SocketErrorCode == SocketError.TooManyOpenSockets && RefuseWithSpareDescriptor())
            {
                return true;
            }

            retryIn = AcceptFailed(e);
            return false;
        }

        _acceptBackoff.Reset();
        Dispatch(request);
        return true;
    }

    private void HoldSpareDescriptor()
    {
        if (_spareDescriptor is null && _feed is null && Kind == RequestKind.Stream && !OperatingSystem.IsWindows())
        {
            try
            {
                _spareDescriptor = File.OpenHandle("/dev/null");
            }
            catch (IOException)
            {
                // Already out of descriptors: try again on the next request.
            }
        }
    }

    /// <summary>
    /// Out of descriptors: frees the spare one, takes the waiting connection with it and refuses it
    /// (the rate-limited refusal line), then holds a spare again. False when there was no spare or
    /// accept still failed, and the caller backs off as for any accept failure.
    /// </summary>
    private bool RefuseWithSpareDescriptor()
    {
        if (Interlocked.Exchange(ref _spareDescriptor, null) is not { } spare)
        {
            return false;
        }

        spare.Dispose();
        Request? request;
        try
        {
            request = GetRequest();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            HoldSpareDescriptor();
            return e is ObjectDisposedException || (e is SocketException s && SocketErrors.IsTransientAccept(s.SocketErrorCode));
        }

        if (request is not null)
        {
            Refuse(request, "out of file descriptors");
        }

        HoldSpareDescriptor();
        return true;
    }

    /// <summary>Logs an accept failure (once per interval) and returns how long to pause before the next try.</summary>
    private TimeSpan AcceptFailed(SocketException e)
    {
        var delay = _acceptBackoff.Next();
        if (_acceptFailedLog.ShouldLog(out var suppressed))
        {
            if (suppressed > 0)
            {
                ServerLog.Suppressed(Logger, suppressed, "Could not take a request", LogLimiter.DefaultInterval);
            }

            ServerLog.GetRequestFailed(Logger, e.Message, delay);
        }

        return delay;
    }

    /// <summary>Reports, once their interval is over, the log lines that limiting held back.</summary>
    private void ReportSuppressedLogs()
    {
        if (_acceptFailedLog.TakeSuppressedIfDue() is > 0 and var failures)
        {
            ServerLog.Suppressed(Logger, failures, "Could not take a request", LogLimiter.DefaultInterval);
        }

        if (_refusedLog.TakeSuppressedIfDue() is > 0 and var refused)
        {
            ServerLog.Suppressed(Logger, refused, "Refused a request", LogLimiter.DefaultInterval);
        }

        if (_idleLog.TakeSuppressedIfDue() is > 0 and var silent)
        {
            ServerLog.Suppressed(Logger, silent, "Closed a silent connection", LogLimiter.DefaultInterval);
        }

        if (_proxyLog.TakeSuppressedIfDue() is > 0 and var proxied)
        {
            ServerLog.Suppressed(Logger, proxied, "Closed a connection over its PROXY header", LogLimiter.DefaultInterval);
        }

        Tls?.ReportSuppressed();
        ReportSuppressed();
    }

    /// <summary>A transport's own limited log lines (a datagram server's dropped packets), reported from the serving loop.</summary>
    private protected virtual void ReportSuppressed()
    {
    }

    /// <summary>Verify, count against the limit, hand to the model: the one path every request takes.</summary>
    private void Dispatch(Request? request)
    {
        if (request is null)
        {
            return;
        }

        if (_feed is not null)
        {
            // Handed over by the master, which verified it and counted it against its limits.
            _inFlight.TryAdd(request, int.MaxValue);
            HandToModel(request);
            return;
        }

        if (AwaitsProxyHeader(request))
        {
            return;
        }

        ContinueDispatch(request, counted: false);
    }

    /// <summary>
    /// The rest of <see cref="Dispatch"/>, once the request's client is known (after its PROXY header, when the
    /// server reads one: <paramref name="counted"/> then says it holds its place among the requests in flight).
    /// </summary>
    private void ContinueDispatch(Request request, bool counted)
    {
        bool verified;
        try
        {
            verified = VerifyRequest(request);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            HandleError(request, e);
            verified = false;
        }

        if (!verified)
        {
            ServerLog.NotVerified(Logger, request.ToString());
            Rejected(request, "verify");
            if (counted)
            {
                Abandon(request);
            }
            else
            {
                ShutdownRequestQuietly(request);
            }

            return;
        }

        if (!counted && !_inFlight.TryAdd(request, MaxConnections))
        {
            Refuse(request, $"{MaxConnections} requests already in flight (MaxConnections)");
            return;
        }

        if (request is StreamRequest)
        {
            _metrics?.Opened(request);
        }
        else
        {
            ServerMetrics.RequestsAccepted.Add(1);
        }

        if (Logger.IsEnabled(LogLevel.Debug) && request is StreamRequest accepted)
        {
            ServerLog.Accepted(Logger, accepted.ToString(), accepted.Proxy is { } header ? $" (PROXY v{header.Version} from {accepted.ProxyAddress})" : string.Empty);
        }

        if (Model.WaitsForFirstBytes && request is StreamRequest stream)
        {
            if (!FirstBytesWaiter.IsSupported)
            {
                _ = HandOverWhenReadableAsync(stream);
                return;
            }

            if (FirstBytes().Add(stream, FirstBytesTimeout))
            {
                return;
            }
        }

        HandToModel(request);
    }

    private FirstBytesWaiter FirstBytes()
    {
        if (Volatile.Read(ref _firstBytes) is { } waiter)
        {
            return waiter;
        }

        lock (_inFlight)
        {
            return _firstBytes ??= new FirstBytesWaiter(HandToModel, DropSilent);
        }
    }

    /// <summary>
    /// A connection given up before it said anything: silent for the idle timeout (or, under TLS, the
    /// handshake timeout), the server is stopping, or the peer closed it first. It never reached the
    /// model (no thread, no worker), so its place among the requests in flight is freed here; it is not
    /// work a stop cuts short.
    /// </summary>
    private void DropSilent(Request request, FirstBytesWaiter.DropReason reason)
    {
        var client = request.ToString();
        if (reason == FirstBytesWaiter.DropReason.Silent)
        {
            request.ErrorType = "timeout";
        }

        Abandon(request);
        if (reason == FirstBytesWaiter.DropReason.Closed)
        {
            ServerLog.ClientGone(Logger, client, "it closed the connection before sending anything");
        }
        else if (reason == FirstBytesWaiter.DropReason.Silent && Tls is { } tls && FirstBytesTimeout != IdleTimeout)
        {
            tls.LogHandshakeFailure(client, new TlsHandshakeException(
                $"no TLS handshake within {FirstBytesTimeout.TotalSeconds:0.###} s (HandshakeTimeout): the client sent nothing", null, timedOut: true));
        }
        else if (reason == FirstBytesWaiter.DropReason.Silent && _idleLog.ShouldLog(out var suppressed))
        {
            if (suppressed > 0)
            {
                ServerLog.Suppressed(Logger, suppressed, "Closed a silent connection", LogLimiter.DefaultInterval);
            }

            ServerLog.ClosedSilent(Logger, client, IdleTimeout);
        }
    }

    /// <summary>
    /// Waits, off the model, for a connection's first bytes (or its end), then hands it over; a
    /// connection silent for the idle timeout, or still silent when the server stops, is closed
    /// unhandled. A zero-byte receive completes on readability without taking any bytes. Where
    /// <see cref="FirstBytesWaiter"/> runs (Linux) it does this instead, without async I/O, and also
    /// drops a connection closed before it sent anything rather than hand over its end. Never used
    /// for the forking model, which runs on Linux only: the async receive would turn the descriptor
    /// it passes to a worker non-blocking.
    /// </summary>
    private async Task HandOverWhenReadableAsync(StreamRequest request)
    {
        using var silent = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        if (FirstBytesTimeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            silent.CancelAfter(FirstBytesTimeout);
        }

        try
        {
            await request.Connection.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, silent.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (silent.IsCancellationRequested)
        {
            DropSilent(request, _stopping.IsCancellationRequested ? FirstBytesWaiter.DropReason.Stopping : FirstBytesWaiter.DropReason.Silent);
            return;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The peer reset before saying anything, or the server closed it: nothing to hand over.
            request.ErrorType = e is SocketException ? "connection_reset" : null;
            Abandon(request);
            return;
        }

        HandToModel(request);
    }

    /// <summary>Closes a counted request that never reached the model.</summary>
    private void Abandon(Request request)
    {
        _metrics?.Closed(request);
        ShutdownRequestQuietly(request);
        _inFlight.Remove(request);
    }

    private void HandToModel(Request request)
    {
        if (request is not StreamRequest)
        {
            ServerMetrics.ActiveRequests.Add(1);
        }

        try
        {
            ProcessRequest(request);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The model could not take it (a thread could not start, say): report and close, as Python does.
            request.ErrorType ??= e.GetType().FullName;
            HandleError(request, e);
            Complete(request);
        }
    }

    /// <summary>
    /// Runs one request to its end on the calling thread: <see cref="FinishRequest"/>,
    /// <see cref="HandleError"/> on failure, then <see cref="ShutdownRequest"/>, and frees its place
    /// among the requests in flight. A <see cref="ProcessRequest"/> override hands its request here
    /// (from whatever thread it likes) rather than calling those steps itself.
    /// </summary>
    protected internal void RunRequest(Request request)
    {
        ConnectionMetrics.Running(request, _metrics);
        try
        {
            if (HandshakeDue(request) is not { } stream || Secure(stream))
            {
                FinishRequest(request);
            }
        }
        catch (Exception e)
        {
            HandlerFailed(request, e);
        }
        finally
        {
            if (request is StreamRequest { Tls: not null } secured)
            {
                secured.SendCloseNotify();
            }

            if (ShouldLinger(request) is { Transport: null } lingering)
            {
                LingerSync(lingering);
            }

            Complete(request);
        }
    }

    /// <summary>As <see cref="RunRequest"/>, as a task: the handler's async path, cancelled by <see cref="Aborted"/>.</summary>
    protected internal async Task RunRequestAsync(Request request)
    {
        ConnectionMetrics.Running(request, _metrics);
        try
        {
            if (HandshakeDue(request) is not { } stream || await SecureAsync(stream).ConfigureAwait(false))
            {
                await FinishRequestAsync(request, Aborted).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            HandlerFailed(request, e);
        }

        if (request is StreamRequest { Tls: not null } secured)
        {
            await secured.SendCloseNotifyAsync().ConfigureAwait(false);
        }

        if (ShouldLinger(request) is { } lingering)
        {
            await LingerAsync(lingering).ConfigureAwait(false);
        }

        Complete(request);
    }

    // Bytes the peer sends after our end of stream are read here only to be thrown away; many
    // connections may share the buffer, since nobody looks at what it holds.
    private static readonly byte[] Discard = new byte[16 * 1024];

    /// <summary>
    /// A connection whose handler ended while the server stops, and which can still be closed
    /// gracefully. Closing a socket that has unread bytes sends RST, and the peer then loses the
    /// answers it had not read yet (issue 14: SIGTERM reset a quarter of the clients mid-transfer).
    /// So during the drain the server sends FIN first and reads (discarding) until the peer
    /// closes too, or the drain is over; under the event loop, through the loop's own stream.
    /// </summary>
    private StreamRequest? ShouldLinger(Request request) =>
        _stopping.IsCancellationRequested && request is StreamRequest { IsAborted: false } stream ? stream : null;

    /// <summary>
    /// How long a graceful close waits for more from a peer that has gone quiet: closing then sends
    /// no RST, since nothing is left unread; a peer that keeps sending is read until the drain ends.
    /// </summary>
    private static readonly TimeSpan LingerQuiet = TimeSpan.FromMilliseconds(250);

    private static void LingerSync(StreamRequest request)
    {
        request.Lingering = true;
        try
        {
            request.Connection.Shutdown(SocketShutdown.Send);
            request.Connection.ReceiveTimeout = (int)LingerQuiet.TotalMilliseconds;
            while (request.Connection.Receive(Discard) > 0)
            {
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The peer reset or went silent past the idle timeout, or the drain ended and closed it.
        }
    }

    private async Task LingerAsync(StreamRequest request)
    {
        request.Lingering = true;
        using var quiet = CancellationTokenSource.CreateLinkedTokenSource(Aborted);
        try
        {
            request.Connection.Shutdown(SocketShutdown.Send);
            do
            {
                quiet.CancelAfter(LingerQuiet);
            }
            while ((request.Transport is { } transport
                ? await transport.ReadAsync(Discard, quiet.Token).ConfigureAwait(false)
                : await request.Connection.ReceiveAsync(Discard, SocketFlags.None, quiet.Token).ConfigureAwait(false)) > 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            // As above (an event loop's stream reports a closed connection as IOException); or quiet
            // for LingerQuiet, or Aborted: the drain is over.
        }
    }

    /// <summary>A model gives back a request it was handed but cannot run (its queue is full): close it unhandled.</summary>
    internal void RefuseRequest(Request request, string reason)
    {
        // Counted as rejected (limit), not as a connection that ran: it only leaves the gauges.
        _metrics?.Closed(request, record: false);
        Refuse(request, reason);
        _inFlight.Remove(request);
        if (request is not StreamRequest)
        {
            ServerMetrics.ActiveRequests.Add(-1);
        }

        _feed?.Completed(request);
    }

    private void Refuse(Request request, string reason)
    {
        if (_refusedLog.ShouldLog(out var suppressed))
        {
            if (suppressed > 0)
            {
                ServerLog.Suppressed(Logger, suppressed, "Refused a request", LogLimiter.DefaultInterval);
            }

            ServerLog.Refused(Logger, request.ToString(), reason);
        }

        Rejected(request, "limit");
        ShutdownRequestQuietly(request);
    }

    private void Complete(Request request)
    {
        Ended(request);
        ShutdownRequestQuietly(request);
        _inFlight.Remove(request);
        _feed?.Completed(request);
    }

    /// <summary>
    /// A model reports that a request it handed to another process is over (handled there, or lost
    /// with it). Bookkeeping only: that process ran the request's shutdown hooks on its own copy.
    /// </summary>
    internal void CompleteHandedOff(Request request)
    {
        Ended(request);
        request.Dispose();
        _inFlight.Remove(request);
    }

    /// <summary>
    /// A model took back, unstarted, a request it had handed to another process, and holds it now as
    /// <paramref name="recovered"/> (its own copy of the connection): the request stays in flight
    /// under that identity, and the model hands it on again.
    /// </summary>
    internal void ReplaceHandedOff(Request original, Request recovered)
    {
        // Add before removing, so the count never passes through zero: a drain waiting for it would end.
        _inFlight.TryAdd(recovered, int.MaxValue);
        _inFlight.Remove(original);

        // The same connection under a new identity: its gauges, start and error go with it, counted once.
        recovered.MetricsState = original.MetricsState;
        recovered.MetricsStart = original.MetricsStart;
        recovered.ErrorType = original.ErrorType;
        original.MetricsState = 0;
        original.Dispose();
    }

    /// <summary>A model handed a connection to another process (a forking worker): no longer queued here.</summary>
    internal void HandedOff(Request request) => ConnectionMetrics.Running(request, _metrics);

    /// <summary>A request is over: a connection leaves the gauges and records its duration and bytes (its socket still open).</summary>
    private void Ended(Request request)
    {
        if (request is StreamRequest)
        {
            _metrics?.Closed(request);
        }
        else
        {
            ServerMetrics.ActiveRequests.Add(-1);
        }
    }

    /// <summary>A handler threw: the connection's error.type is the exception's type (a datagram's is counted).</summary>
    private void HandlerFailed(Request request, Exception e)
    {
        if (request is StreamRequest)
        {
            request.ErrorType ??= e.GetType().FullName;
        }
        else
        {
            ServerMetrics.HandlerErrors.Add(1);
        }

        HandleError(request, e);
    }

    /// <summary>Closed before any handler: counted among the rejected connections, or the refused datagrams.</summary>
    private void Rejected(Request request, string reason)
    {
        if (request is StreamRequest)
        {
            _metrics?.Rejected(reason);
        }
        else
        {
            ServerMetrics.RequestsRefused.Add(1, new KeyValuePair<string, object?>("reason", reason));
        }
    }

    private void ShutdownRequestQuietly(Request request)
    {
        try
        {
            ShutdownRequest(request);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            ServerLog.ClientGone(Logger, request.ToString(), e.Message);
        }
    }
}

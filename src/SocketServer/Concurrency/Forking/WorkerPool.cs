using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using SocketServer.Internal;

namespace SocketServer.Forking;

/// <summary>
/// The master's side of the forking model: starts worker processes, admits them on a private
/// control socket, hands each verified request to the least-busy worker (the connection's
/// descriptor itself, by <c>SCM_RIGHTS</c>), queues what no worker can take yet (bounded), and
/// supervises — a worker that dies loses only the requests it had started and is replaced; one
/// that is stopped or stops answering gets nothing more and gives back what it had not started
/// (killed if it stays silent); one that served its share of requests or grew too big is drained and
/// replaced (recycled); one that runs a request past the limit is killed and replaced. See docs/forking.md.
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    /// <summary>Consecutive workers dying before they connect after which the pool stops retrying at once.</summary>
    private const int MaxStartFailures = 5;

    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(5);

    private readonly ForkingModel _model;
    private readonly BaseServer _server;
    private readonly int _serverNumber;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly List<Worker> _workers = [];
    private readonly LinkedList<Request> _pending = new();
    private readonly byte[] _message = new byte[WorkerMessages.MaxLength];
    private readonly byte[] _takeBack = new byte[WorkerMessages.MaxLength];
    private readonly DirectoryInfo _directory;
    private readonly string _controlPath;
    private readonly Socket _listener;
    private readonly Timer _timer;
    private readonly CancellationTokenRegistration _onStopping;
    private readonly CancellationTokenRegistration _onAbort;
    private readonly SemaphoreSlim _changed = new(0);
    private int _nextWorker;
    private long _nextId;
    private int _turn;
    private int _startFailures;
    private long _lastRetry;
    private string _lastFailure = "no worker connected";
    private bool _closing;

    public WorkerPool(ForkingModel model, BaseServer server, int serverNumber)
    {
        _model = model;
        _server = server;
        _serverNumber = serverNumber;
        _logger = server.ModelLogger;

        // A directory only this user can enter (0700) holds the control socket: no one else can connect.
        _directory = Directory.CreateTempSubdirectory("socketserver-workers-");
        _controlPath = Path.Combine(_directory.FullName, "control");
        _listener = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        try
        {
            _listener.Bind(new UnixDomainSocketEndPoint(_controlPath));
            _listener.Listen(64);
        }
        catch
        {
            _listener.Dispose();
            _directory.Delete(recursive: true);
            throw;
        }

        new Thread(Admit) { IsBackground = true, Name = "socketserver workers accept" }.Start();
        var watch = Math.Min(model.LivenessTimeout.Ticks, model.HangTimeout.Ticks);
        var tick = TimeSpan.FromTicks(Math.Clamp(watch / 4, TimeSpan.TicksPerMillisecond * 50, TimeSpan.TicksPerSecond));
        _timer = new Timer(_ => Supervise(), null, tick, tick);
        _onStopping = server.Stopping.Register(Stop);
        _onAbort = server.Aborted.Register(() => KillBusy("the drain timeout passed with its requests still running"));
    }

    /// <summary>Process ids of the workers alive now.</summary>
    public IReadOnlyList<int> ActiveChildren
    {
        get
        {
            lock (_gate)
            {
                return [.. _workers.Where(w => !w.Gone).Select(w => w.Pid)];
            }
        }
    }

    /// <summary>Starts the first <see cref="ForkingModel.MinChildren"/> workers and waits until they are ready; throws when none comes up.</summary>
    public void StartWorkers()
    {
        lock (_gate)
        {
            while (_workers.Count(w => !w.Gone) < _model.MinChildren && Spawn())
            {
            }
        }

        var deadline = Stopwatch.GetTimestamp() + (long)(_model.StartTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            int ready, starting;
            lock (_gate)
            {
                ready = _workers.Count(w => w.Ready);
                starting = _workers.Count(w => !w.Ready && !w.Gone);
            }

            if (starting == 0 || ready >= _model.MinChildren)
            {
                if (ready == 0)
                {
                    throw new SocketServerException($"no worker process started ({_lastFailure}). " +
                        "Workers run this program again with the same arguments; see docs/forking.md for how a program serves as its own worker.");
                }

                return;
            }

            var left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0)
            {
                if (ready == 0)
                {
                    throw new SocketServerException($"no worker process connected within {_model.StartTimeout.TotalSeconds:0.#} s ({_lastFailure}).");
                }

                return;
            }

            _changed.Wait(TimeSpan.FromTicks(Math.Min(left * TimeSpan.TicksPerSecond / Stopwatch.Frequency, TimeSpan.TicksPerSecond)));
        }
    }

    /// <summary>Hands a verified request to a worker, queues it, or refuses it.</summary>
    public void Submit(Request request)
    {
        string? refusal = null;
        lock (_gate)
        {
            if (_closing)
            {
                refusal = "the server is closing";
            }
            else if (TrySend(request))
            {
                return;
            }
            else if (_pending.Count >= _model.MaxQueue)
            {
                refusal = $"all workers are busy ({_model.MaxChildren} at most, {_model.RequestsPerChild} requests each) and {_model.MaxQueue} requests are queued";
            }
            else if (_startFailures >= MaxStartFailures && !_workers.Any(w => w.Serves))
            {
                refusal = $"no worker process is running ({_lastFailure})";
            }
            else
            {
                _pending.AddLast(request);
                WorkerLog.Queued(_logger, request.ToString(), _pending.Count);
                Grow();
            }
        }

        if (refusal is not null)
        {
            _server.RefuseRequest(request, refusal);
        }
    }

    /// <summary>Python's <c>collect_children</c>: checks every worker now (hangs, limits, start time) rather than at the next tick.</summary>
    public void Collect() => Supervise();

    // Under _gate: send to the ready worker with the fewest requests, if any has room.
    private bool TrySend(Request request)
    {
        while (true)
        {
            // The least busy; among equals, the next in turn, so short requests spread too. A worker
            // being recycled is the last resort, taken only while no other worker runs or starts
            // (starting keeps failing): recycling must not leave the server with no worker at all.
            Worker? best = null;
            Worker? spare = null;
            var inService = false;
            var count = _workers.Count;
            for (var i = 0; i < count; i++)
            {
                var worker = _workers[(_turn + i) % count];
                inService |= worker.InService;
                if (!worker.Serves || worker.Full || worker.InFlight.Count >= _model.RequestsPerChild)
                {
                    continue;
                }

                if (worker.Recycling)
                {
                    if (spare is null || worker.InFlight.Count < spare.InFlight.Count)
                    {
                        spare = worker;
                    }
                }
                else if (best is null || worker.InFlight.Count < best.InFlight.Count)
                {
                    best = worker;
                }
            }

            if (best is null && !inService)
            {
                best = spare;
            }

            if (best is null)
            {
                return false;
            }

            var id = ++_nextId;
            int error;
            if (request is StreamRequest stream)
            {
                var length = WorkerMessages.WriteRequest(_message, WorkerMessages.Connection, id, request.ClientAddress, []);
                error = DescriptorPassing.Send(best.Channel!, _message.AsSpan(0, length), stream.Connection.Handle);
                if (error == 0)
                {
                    // The worker has its own descriptor now. Close ours (a plain close: the socket never
                    // did I/O here, so .NET does not shut it down), or the client would see no end of
                    // the connection when the worker closes it.
                    stream.Connection.Dispose();
                }
            }
            else
            {
                var datagram = (DatagramRequest)request;
                var length = WorkerMessages.WriteRequest(_message, WorkerMessages.Datagram, id, request.ClientAddress, datagram.Packet.Span);
                error = DescriptorPassing.Send(best.Channel!, _message.AsSpan(0, length), -1);
            }

            if (error == 0)
            {
                _server.HandedOff(request);
                best.InFlight[id] = (request, Stopwatch.GetTimestamp());
                _turn = (_workers.IndexOf(best) + 1) % count;
                if (++best.Handed == best.RequestLimit)
                {
                    Recycle(best, $"it has been handed {best.Handed} requests (MaxRequestsPerWorker {_model.MaxRequestsPerWorker})", "requests");
                    Replenish();
                }

                return true;
            }

            // Its queue is full (it has stopped reading) or it is gone: try another; the supervisor or
            // the reader deals with this one.
            best.Full = true;
        }
    }

    // Under _gate: back up to MinChildren, and more if queued requests need the room. Workers on their
    // way out (recycled, unresponsive) do not count: their replacements start at once, so for a while
    // the processes may outnumber MaxChildren, though no more than MaxChildren take requests.
    private void Replenish()
    {
        while (!_closing && _workers.Count(w => w.InService) < _model.MinChildren && Spawn())
        {
        }

        if (_pending.Count > 0)
        {
            Grow();
        }
    }

    // Under _gate: start a worker when queued requests need more room than the starting ones bring.
    private void Grow()
    {
        var alive = _workers.Count(w => w.InService);
        var starting = _workers.Count(w => !w.Gone && !w.Ready);
        if (alive < _model.MaxChildren && (long)starting * _model.RequestsPerChild < _pending.Count)
        {
            Spawn();
        }
    }

    // Under _gate.
    private bool Spawn()
    {
        if (_closing || _startFailures >= MaxStartFailures)
        {
            return false;
        }

        var number = ++_nextWorker;
        var token = RandomNumberGenerator.GetBytes(WorkerMessages.TokenLength);
        var process = new Process { EnableRaisingEvents = true };
        var limit = _model.MaxRequestsPerWorker;
        var worker = new Worker(number, process, token)
        {
            Started = Stopwatch.GetTimestamp(),

            // Jitter, as gunicorn's max_requests_jitter: requests spread evenly over the workers, so
            // without it workers started together would all be recycled together.
            RequestLimit = limit == 0 ? 0 : limit + (long)Random.Shared.Next((limit / 10) + 1),
        };

        // Before Start: Exited is raised once, and a worker that fails at once must still be seen to.
        // (Its handler waits for _gate, which this method holds until the worker is in the list.)
        process.Exited += (_, _) => OnExited(worker);
        try
        {
            var start = _model.CreateStartInfo();
            start.UseShellExecute = false;
            start.RedirectStandardInput = true;
            start.Environment[WorkerInvitation.Variable] = new WorkerInvitation(_controlPath, number, token, _serverNumber).Format();
            process.StartInfo = start;
            process.Start();
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException or SocketServerException)
        {
            process.Dispose();
            _startFailures++;
            _lastFailure = e.Message;
            _lastRetry = Stopwatch.GetTimestamp();
            WorkerLog.StartFailed(_logger, e.Message);
            return false;
        }

        // A worker reads nothing from the terminal: its stdin is an empty pipe.
        process.StandardInput.Close();
        worker.Pid = process.Id;
        _workers.Add(worker);
        ServerMetrics.Workers.Add(1);
        return true;
    }

    private void Admit()
    {
        while (true)
        {
            Socket channel;
            try
            {
                channel = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            // Each on its own, so one that stalls before its hello holds up no other.
            _ = Task.Run(() =>
            {
                try
                {
                    Welcome(channel);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidDataException)
                {
                    WorkerLog.Rejected(_logger, e.Message);
                    channel.Dispose();
                }
            });
        }
    }

    private void Welcome(Socket channel)
    {
        if (!channel.Poll(HelloTimeout, SelectMode.SelectRead))
        {
            throw new InvalidDataException($"no hello within {HelloTimeout.TotalSeconds:0} s");
        }

        var hello = new byte[64];
        var received = DescriptorPassing.Receive(channel, hello, out var descriptor);

        // The worker's own end of this channel, which it sends along: holding it, the master can read
        // back what it handed over and the worker never read (TakeBack). Without it (this process out
        // of descriptors), such requests are closed instead.
        var peer = descriptor >= 0 ? new Socket(new SafeSocketHandle(descriptor, ownsHandle: true)) : null;
        try
        {
            Welcome(channel, hello.AsSpan(0, received), peer);
        }
        catch
        {
            peer?.Dispose();
            throw;
        }
    }

    private void Welcome(Socket channel, ReadOnlySpan<byte> hello, Socket? peer)
    {
        if (hello.Length != 5 + WorkerMessages.TokenLength || hello[0] != WorkerMessages.Hello)
        {
            throw new InvalidDataException("the first message was not a worker's hello");
        }

        var number = BitConverter.ToInt32(hello[1..]);
        var token = hello.Slice(5, WorkerMessages.TokenLength);

        // SO_PEERCRED: the kernel's word for which process is on the other end.
        var credentials = new byte[12];
        channel.GetRawSocketOption(1, 17, credentials);
        var pid = BitConverter.ToInt32(credentials, 0);

        Worker? worker;
        lock (_gate)
        {
            worker = _workers.Find(w => w.Number == number);
        }

        if (worker is null || worker.Gone || worker.Channel is not null || !CryptographicOperations.FixedTimeEquals(token, worker.Token))
        {
            throw new InvalidDataException($"process {pid} is not a worker this server started");
        }

        if (worker.Pid != pid)
        {
            throw new InvalidDataException($"worker {number} connected from process {pid}, not from {worker.Pid} which was started: the worker command must exec the program, not run it as a child");
        }

        var welcome = new byte[1024];
        var length = WorkerMessages.WriteWelcome(welcome, _server.Kind, _server.ServerAddress);
        var socket = _server.Kind == RequestKind.Datagram ? _server.Socket : null;
        int error;
        lock (_gate)
        {
            error = DescriptorPassing.Send(channel, welcome.AsSpan(0, length), socket?.Handle ?? -1);
            if (error == 0 && !worker.Gone && !_closing)
            {
                worker.Channel = channel;
                worker.Peer = peer;
                worker.Ready = true;
                worker.LastHeard = Stopwatch.GetTimestamp();
                _startFailures = 0;
            }
        }

        if (error != 0)
        {
            throw new SocketException(error);
        }

        if (!worker.Ready)
        {
            peer?.Dispose();
            channel.Dispose();
            return;
        }

        WorkerLog.Ready(_logger, number, pid);
        new Thread(() => Listen(worker)) { IsBackground = true, Name = $"socketserver worker {number}" }.Start();
        _changed.Release();
        lock (_gate)
        {
            // Workers being recycled that waited for someone to take over may go now.
            foreach (var recycled in _workers)
            {
                StopWhenDrained(recycled);
            }
        }

        Pump();
    }

    // One thread per worker: its Done and Pong messages; the end of the channel means the worker is gone.
    private void Listen(Worker worker)
    {
        var buffer = new byte[64];
        try
        {
            while (true)
            {
                var received = worker.Channel!.Receive(buffer);
                if (received == 0)
                {
                    break;
                }

                worker.LastHeard = Stopwatch.GetTimestamp();
                if (buffer[0] == WorkerMessages.Done && received >= 9)
                {
                    Finished(worker, WorkerMessages.ReadId(buffer));
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        Lose(worker);

        // A worker that closed its channel is on its way out; one that lingers is of no use.
        if (!HasExited(worker, ExitGrace))
        {
            Kill(worker, "it closed its control connection but did not exit");
        }
    }

    private void Finished(Worker worker, long id)
    {
        Request? request = null;
        lock (_gate)
        {
            if (worker.InFlight.Remove(id, out var entry))
            {
                request = entry.Request;
                worker.Full = false;
                StopWhenDrained(worker);
            }
        }

        if (request is not null)
        {
            _server.CompleteHandedOff(request);
            Pump();
        }
    }

    // The worker can take no more: what it never read goes to other workers, the rest is lost (those
    // connections died with it).
    private void Lose(Worker worker)
    {
        List<Request>? lost;
        lock (_gate)
        {
            lost = WriteOff(worker);
        }

        Release(worker, lost);
        Pump();
    }

    // Under _gate: the worker takes nothing more (and a late connect cannot revive it). What it was
    // handed and never read goes back to the queue; returns the rest of its requests in flight, lost
    // with it, or null when it was written off already.
    private List<Request>? WriteOff(Worker worker)
    {
        if (worker.Gone)
        {
            return null;
        }

        worker.TakenBack = TakeBack(worker);
        worker.Gone = true;
        worker.Ready = false;
        List<Request> lost = [.. worker.InFlight.Values.Select(e => e.Request)];
        worker.Lost = lost.Count;
        worker.InFlight.Clear();
        return lost;
    }

    // Outside _gate: closes a written-off worker's channel and ends its lost requests.
    private void Release(Worker worker, List<Request>? lost)
    {
        if (lost is null)
        {
            return;
        }

        if (worker.TakenBack > 0)
        {
            WorkerLog.TookBack(_logger, worker.TakenBack, worker.Number, worker.Pid);
        }

        worker.Channel?.Dispose();
        worker.Peer?.Dispose();
        foreach (var request in lost)
        {
            _server.CompleteHandedOff(request);
        }
    }

    /// <summary>
    /// Under _gate: takes back the requests handed to <paramref name="worker"/> that it has not read,
    /// still queued in its end of the channel — which the master holds too, since the worker sent it
    /// with its hello — and puts them first in the queue, for other workers. Safe while the worker
    /// runs: each message is taken whole by one reader, so one the worker reads meanwhile is simply
    /// not among them. Returns how many were taken back.
    /// </summary>
    private int TakeBack(Worker worker)
    {
        if (worker.Peer is not { } peer)
        {
            return 0;
        }

        var taken = new List<Request>();
        var stop = false;
        while (true)
        {
            int received;
            nint descriptor;
            try
            {
                received = DescriptorPassing.TryReceive(peer, _takeBack, out descriptor);
            }
            catch (SocketException)
            {
                break;
            }

            if (received <= 0)
            {
                DescriptorPassing.Close(descriptor);
                break;
            }

            var type = _takeBack[0];
            if (type is WorkerMessages.Connection or WorkerMessages.Datagram && received >= 9
                && worker.InFlight.Remove(WorkerMessages.ReadId(_takeBack), out var entry))
            {
                if (Recover(worker, entry.Request, descriptor) is { } recovered)
                {
                    taken.Add(recovered);
                }
            }
            else
            {
                // Heartbeats it never saw, or a stop to give it again below.
                stop |= type == WorkerMessages.Stop;
                DescriptorPassing.Close(descriptor);
            }
        }

        if (stop)
        {
            DescriptorPassing.Send(worker.Channel!, [WorkerMessages.Stop], -1);
        }

        for (var i = taken.Count - 1; i >= 0; i--)
        {
            _pending.AddFirst(taken[i]);
        }

        ServerMetrics.RequestsRecovered.Add(taken.Count);
        return taken.Count;
    }

    // Under _gate: the request as the master can hand it on again. A datagram's bytes never left the
    // master; a connection comes back as a new descriptor, so as a new request in the same place.
    private Request? Recover(Worker worker, Request request, nint descriptor)
    {
        if (request is DatagramRequest)
        {
            DescriptorPassing.Close(descriptor);
            return request;
        }

        string reason;
        if (descriptor >= 0)
        {
            var handle = new SafeSocketHandle(descriptor, ownsHandle: true);
            try
            {
                var recovered = new StreamRequest(new Socket(handle), request.ClientAddress);
                _server.ReplaceHandedOff(request, recovered);
                return recovered;
            }
            catch (SocketException e)
            {
                handle.Dispose();
                reason = e.Message;
            }
        }
        else
        {
            reason = "its descriptor did not come back (is the master out of file descriptors?)";
        }

        // Bookkeeping only (it holds no lock of ours), so it may run here.
        WorkerLog.NotTakenBack(_logger, request.ToString(), worker.Number, worker.Pid, reason);
        _server.CompleteHandedOff(request);
        return null;
    }

    private void OnExited(Worker worker)
    {
        lock (_gate)
        {
            if (worker.Exited || !_workers.Contains(worker))
            {
                return;
            }

            worker.Exited = true;
        }

        Lose(worker);
        var code = worker.Process.ExitCode;
        bool closing;
        lock (_gate)
        {
            _workers.Remove(worker);
            closing = _closing;
            if (!worker.EverReady && !closing)
            {
                _startFailures++;
                _lastFailure = $"worker {worker.Number} exited with code {code} before it connected; its stderr says why";
                _lastRetry = Stopwatch.GetTimestamp();
            }
        }

        ServerMetrics.Workers.Add(-1);
        if ((closing || worker.Recycling) && (code == 0 || worker.Stopped))
        {
            WorkerLog.Exited(_logger, worker.Number, worker.Pid);
        }
        else
        {
            ServerMetrics.WorkerDeaths.Add(1);
            WorkerLog.Died(_logger, worker.Number, worker.Pid, Describe(code), worker.Lost);
        }

        worker.Process.Dispose();
        _changed.Release();
        List<Request> hopeless;
        lock (_gate)
        {
            Replenish();
            hopeless = TakeQueueIfHopeless();
        }

        RefuseAll(hopeless, $"no worker process is running ({_lastFailure})");
        Pump();
    }

    // Under _gate: when workers keep failing to start and none runs, what waits would wait for nothing.
    private List<Request> TakeQueueIfHopeless()
    {
        if (_startFailures < MaxStartFailures || _workers.Any(w => w.Serves))
        {
            return [];
        }

        List<Request> queued = [.. _pending];
        _pending.Clear();
        return queued;
    }

    private void RefuseAll(List<Request> requests, string reason)
    {
        foreach (var request in requests)
        {
            _server.RefuseRequest(request, reason);
        }
    }

    private static string Describe(int code) => code > 128 && code < 160
        ? $"killed by signal {code - 128}{(code - 128) switch { 6 => " (SIGABRT: a crash or Environment.FailFast)", 9 => " (SIGKILL)", 11 => " (SIGSEGV)", 15 => " (SIGTERM)", _ => string.Empty }}"
        : $"exited with code {code}";

    // Sends queued requests to workers with room.
    private void Pump()
    {
        List<Request> stranded = [];
        lock (_gate)
        {
            while (_pending.First is { } first && TrySend(first.Value))
            {
                _pending.RemoveFirst();
            }

            if (_closing && _pending.Count > 0 && !_workers.Any(w => w.Serves))
            {
                // Taken back from a worker that died while closing, with every other one told to
                // stop: nothing will serve them, and the drain should not wait for them.
                stranded = [.. _pending];
                _pending.Clear();
            }

            StopWorkersWhenQueueEmpty();
        }

        RefuseAll(stranded, "the server is closing and no worker can take it");
    }

    private void Supervise()
    {
        // What /proc says of each worker, read before taking the lock: no file is read under it.
        Worker[] watched;
        lock (_gate)
        {
            if (_closing)
            {
                return;
            }

            watched = [.. _workers.Where(w => w.Ready)];
        }

        var memoryLimit = _model.MaxWorkerMemory;
        var seen = new Dictionary<Worker, (bool Stopped, long Resident)>(watched.Length, ReferenceEqualityComparer.Instance);
        foreach (var worker in watched)
        {
            seen[worker] = (ProcessState.IsStopped(worker.Pid), memoryLimit > 0 ? ProcessState.ResidentBytes(worker.Pid) : 0);
        }

        var now = Stopwatch.GetTimestamp();
        // A worker to be killed is written off at once, under the lock, so nothing more is handed to
        // it (a connection handed over now would die with it, unanswered) and a late connect cannot
        // revive it. Its replacement starts below, not when its exit is reaped: for that moment one
        // process more than MaxChildren may exist.
        var kill = new List<(Worker Worker, string Reason, List<Request>? Lost)>();
        void Doom(Worker worker, string reason) => kill.Add((worker, reason, WriteOff(worker)));
        List<Request> hopeless;
        lock (_gate)
        {
            if (_closing)
            {
                return;
            }

            foreach (var worker in _workers)
            {
                if (worker.Gone)
                {
                    continue;
                }

                if (!worker.Ready)
                {
                    if (Stopwatch.GetElapsedTime(worker.Started, now) > _model.StartTimeout)
                    {
                        Doom(worker, $"it did not connect within {Seconds(_model.StartTimeout)} s (StartTimeout)");
                    }

                    continue;
                }

                var silent = Stopwatch.GetElapsedTime(worker.LastHeard, now);
                if (silent > _model.HangTimeout)
                {
                    Doom(worker, $"it has not answered for {Seconds(_model.HangTimeout)} s (HangTimeout)");
                    continue;
                }

                if (_model.RequestTimeLimit is { } limit && worker.InFlight.Values.FirstOrDefault(e => Stopwatch.GetElapsedTime(e.Started, now) > limit) is { Request: { } late })
                {
                    Doom(worker, $"the request from {late} ran longer than {Seconds(limit)} s (RequestTimeLimit)");
                    continue;
                }

                if (worker.Recycling && worker.Stopped && Stopwatch.GetElapsedTime(worker.StopSent, now) > _server.DrainTimeout + ExitGrace)
                {
                    Doom(worker, $"it was recycled and told to stop, but has not exited {Seconds(_server.DrainTimeout + ExitGrace)} s later (DrainTimeout and 5 s)");
                    continue;
                }

                var (stopped, resident) = seen.GetValueOrDefault(worker);
                if (worker.Suspended)
                {
                    if (stopped)
                    {
                        // It can answer nothing, and heartbeats would only pile up in its queue.
                        continue;
                    }

                    if (worker.LastHeard > worker.SuspendedAt)
                    {
                        // Back, but a replacement took its place: it finishes what it holds, and goes.
                        worker.Suspended = false;
                        Recycle(worker, "it answers again after it was found unresponsive", "unresponsive");
                    }
                }
                else if (stopped)
                {
                    Suspend(worker, "it is stopped (state T in /proc: SIGSTOP, or a debugger)");
                    continue;
                }
                else if (worker.Unanswered(now) is var unanswered && unanswered > _model.LivenessTimeout)
                {
                    Suspend(worker, $"it has not answered the heartbeat for {Seconds(unanswered)} s (LivenessTimeout {Seconds(_model.LivenessTimeout)} s)");
                }
                else if (memoryLimit > 0 && resident > memoryLimit && worker.Handed > 0 && !worker.Recycling)
                {
                    // Once it has served: a fresh worker's footprint is what it is, and recycling it would only churn.
                    Recycle(worker, $"it holds {Mebibytes(resident)} MiB resident, more than MaxWorkerMemory ({Mebibytes(memoryLimit)} MiB)", "memory");
                }

                StopWhenDrained(worker, now);
                worker.Ping();
            }

            if (_startFailures >= MaxStartFailures && Stopwatch.GetElapsedTime(_lastRetry, now) > RetryInterval)
            {
                // Give starting another go now and then, in case what broke it (a missing file, a full disk) is fixed.
                _startFailures = MaxStartFailures - 1;
                _lastRetry = now;
                if (_workers.Count(w => w.InService) < Math.Max(1, _model.MinChildren))
                {
                    Spawn();
                }
            }

            Replenish();
            hopeless = TakeQueueIfHopeless();
        }

        RefuseAll(hopeless, $"no worker process is running ({_lastFailure})");
        foreach (var (worker, reason, lost) in kill)
        {
            Kill(worker, reason);
            Release(worker, lost);
        }

        Pump();
    }

    private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture);

    private static string Mebibytes(long bytes) => (bytes / (1024 * 1024)).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Under _gate: the worker is stopped or silent. Hand it nothing more, take back what it has not
    /// read (it goes first to the others), and let a replacement start (Replenish, which the caller
    /// runs). What it started stays with it: should it answer again it is recycled; if it stays silent
    /// past HangTimeout it is killed, as before. It is not killed now, since a worker paused (by an
    /// operator, a debugger, a long GC) may yet finish those requests, and killing would lose them.
    /// </summary>
    private void Suspend(Worker worker, string why)
    {
        worker.Suspended = true;
        worker.SuspendedAt = Stopwatch.GetTimestamp();
        var taken = TakeBack(worker);
        ServerMetrics.WorkersUnresponsive.Add(1);
        WorkerLog.Unresponsive(_logger, worker.Number, worker.Pid, why, taken, worker.InFlight.Count, _model.HangTimeout.TotalSeconds);
    }

    /// <summary>
    /// Under _gate: the worker gets no more requests (unless no other worker runs or starts at all),
    /// finishes what it holds, and is then told to stop (<see cref="StopWhenDrained"/>); the caller
    /// runs Replenish, which starts its replacement.
    /// </summary>
    private void Recycle(Worker worker, string reason, string kind)
    {
        if (worker.Recycling)
        {
            return;
        }

        worker.Recycling = true;
        worker.RecycleStarted = Stopwatch.GetTimestamp();
        ServerMetrics.WorkerRecycles.Add(1, new KeyValuePair<string, object?>("reason", kind));
        WorkerLog.Recycling(_logger, worker.Number, worker.Pid, reason, worker.InFlight.Count);
    }

    /// <summary>
    /// Under _gate: a worker being recycled is told to stop once it holds no request and another
    /// worker is ready to serve in its place (so a replacement that cannot start leaves the old one
    /// serving, rather than none), or, past <see cref="ForkingModel.RecycleTimeout"/>, with what it
    /// still holds: it then drains as at shutdown.
    /// </summary>
    private void StopWhenDrained(Worker worker, long now = 0)
    {
        if (!worker.Recycling || worker.Stopped || !worker.Ready || worker.Suspended)
        {
            return;
        }

        var since = Stopwatch.GetElapsedTime(worker.RecycleStarted, now == 0 ? Stopwatch.GetTimestamp() : now);
        var overdue = since > _model.RecycleTimeout;
        if ((worker.InFlight.Count > 0 && !overdue) || !_workers.Any(w => w.TakesRequests))
        {
            return;
        }

        if (worker.InFlight.Count > 0)
        {
            WorkerLog.RecycleOverdue(_logger, worker.Number, worker.Pid, worker.InFlight.Count, since.TotalSeconds);
        }

        worker.Stopped = DescriptorPassing.Send(worker.Channel!, [WorkerMessages.Stop], -1) == 0;
        worker.StopSent = Stopwatch.GetTimestamp();
    }

    private void Kill(Worker worker, string? reason)
    {
        if (reason is not null)
        {
            WorkerLog.Killing(_logger, worker.Number, worker.Pid, reason);
        }

        try
        {
            worker.Process.Kill();
        }
        catch (Exception e) when (e is InvalidOperationException or Win32Exception)
        {
            // Already exited.
        }
    }

    private void KillBusy(string reason)
    {
        Worker[] workers;
        lock (_gate)
        {
            workers = [.. _workers.Where(w => w.InFlight.Count > 0)];
        }

        foreach (var worker in workers)
        {
            Kill(worker, reason);
        }
    }

    /// <summary>
    /// The server began to close: take no more requests, and tell every worker to stop — once the
    /// queue is served — so each closes its own server (its handlers see <c>Stopping</c>) and drains
    /// what it holds while the master's drain waits for their reports. No worker starts after this.
    /// </summary>
    private void Stop()
    {
        var starting = new List<Worker>();
        lock (_gate)
        {
            if (_closing)
            {
                return;
            }

            _closing = true;

            // Workers still starting will get nothing: end them quietly, rather than let them fail to connect.
            foreach (var worker in _workers.Where(w => !w.Ready && !w.Gone))
            {
                worker.Stopped = true;
                starting.Add(worker);
            }

            StopWorkersWhenQueueEmpty();
        }

        foreach (var worker in starting)
        {
            Kill(worker, null);
        }
    }

    // Under _gate. Requests already queued were accepted and verified: they are served during the
    // drain, and the workers are told to stop once none waits.
    private void StopWorkersWhenQueueEmpty()
    {
        if (!_closing || _pending.Count > 0)
        {
            return;
        }

        foreach (var worker in _workers.Where(w => w.Ready && !w.Stopped))
        {
            worker.Stopped = DescriptorPassing.Send(worker.Channel!, [WorkerMessages.Stop], -1) == 0;
        }
    }

    /// <summary>Stops the workers (if closing has not already), waits for them to exit (killing stragglers), and removes the control socket.</summary>
    public void Dispose()
    {
        Stop();
        Worker[] workers;
        List<Request> queued;
        lock (_gate)
        {
            // The drain is over (or the server did not wait): what still waits is not served.
            queued = [.. _pending];
            _pending.Clear();
            StopWorkersWhenQueueEmpty();
            workers = [.. _workers];
        }

        RefuseAll(queued, "the server closed before a worker could take it");

        _onStopping.Dispose();
        _onAbort.Dispose();
        _timer.Dispose();
        _listener.Dispose();
        if (!_model.BlockOnClose)
        {
            // The server did not wait for the workers' requests, and no worker may outlive it.
            KillBusy("the server closed without waiting for its requests (BlockOnClose is false)");
        }

        var deadline = Stopwatch.GetTimestamp() + (long)(ExitGrace.TotalSeconds * Stopwatch.Frequency);
        foreach (var worker in workers)
        {
            var left = TimeSpan.FromSeconds(Math.Max(0, (double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency));
            if (!HasExited(worker, left))
            {
                Kill(worker, "it did not exit when told to stop");
                HasExited(worker, ExitGrace);
            }
        }

        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
        }

        // _changed stays undisposed: a worker that outlived even its kill still raises Exited later,
        // and releasing a disposed semaphore then would throw on a pool thread (it holds no handle).
    }

    private static bool HasExited(Worker worker, TimeSpan wait)
    {
        try
        {
            return worker.Process.WaitForExit(wait);
        }
        catch (InvalidOperationException)
        {
            return true; // Disposed: its exit was already handled (OnExited).
        }
    }

    private sealed class Worker(int number, Process process, byte[] token)
    {
        public int Number { get; } = number;

        public Process Process { get; } = process;

        public byte[] Token { get; } = token;

        public int Pid { get; set; }

        public required long Started { get; init; }

        /// <summary>Its exit was handled (OnExited runs once).</summary>
        public bool Exited { get; set; }

        public Socket? Channel { get; set; }

        /// <summary>The worker's own end of <see cref="Channel"/>, sent with its hello: what it never read can be taken back through it.</summary>
        public Socket? Peer { get; set; }

        /// <summary>Connected (and, unless on its way out, taking requests).</summary>
        public bool Ready { get; set; }

        /// <summary>Counts toward MinChildren and MaxChildren: starting or serving, not on its way out.</summary>
        public bool InService => !Gone && !Suspended && !Recycling && !Stopped;

        /// <summary>Connected and able to take a request (a recycled one only as the last resort).</summary>
        public bool Serves => Ready && !Suspended && !Stopped;

        /// <summary>Connected and taking requests.</summary>
        public bool TakesRequests => Serves && !Recycling;

        public bool EverReady => Channel is not null;

        /// <summary>Its channel is closed: it takes nothing more and its requests were written off.</summary>
        public bool Gone { get; set; }

        /// <summary>A send found its queue full; cleared when it finishes a request or answers a ping.</summary>
        public bool Full { get; set; }

        /// <summary>It was told to stop (closing), so its exit is expected.</summary>
        public bool Stopped { get; set; }

        public int Lost { get; set; }

        /// <summary>Requests taken back from it unstarted when it was written off.</summary>
        public int TakenBack { get; set; }

        /// <summary>Requests handed to it so far.</summary>
        public long Handed { get; set; }

        /// <summary>Its own MaxRequestsPerWorker, jitter included; 0: none.</summary>
        public long RequestLimit { get; init; }

        /// <summary>Being recycled: it gets no more requests, and is told to stop once drained.</summary>
        public bool Recycling { get; set; }

        public long RecycleStarted { get; set; }

        public long StopSent { get; set; }

        /// <summary>Found stopped or silent (the liveness check): it gets nothing more.</summary>
        public bool Suspended { get; set; }

        public long SuspendedAt { get; set; }

        public long LastHeard { get; set; }

        /// <summary>When the oldest heartbeat it has not answered was sent; older than <see cref="LastHeard"/> when none is outstanding.</summary>
        public long PingSent { get; set; }

        /// <summary>
        /// How long its oldest unanswered heartbeat has waited: measured from the ping, not from the
        /// last answer, so a supervisor tick that runs late (a loaded machine) counts against no worker.
        /// </summary>
        public TimeSpan Unanswered(long now) => LastHeard >= PingSent ? TimeSpan.Zero : Stopwatch.GetElapsedTime(PingSent, now);

        /// <summary>Sends a heartbeat. One that goes through also shows its queue has room again.</summary>
        public void Ping()
        {
            var sent = Stopwatch.GetTimestamp();
            if (DescriptorPassing.Send(Channel!, [WorkerMessages.Ping], -1) == 0)
            {
                Full = false;
                if (LastHeard >= PingSent)
                {
                    PingSent = sent;
                }
            }
        }

        public Dictionary<long, (Request Request, long Started)> InFlight { get; } = [];
    }
}

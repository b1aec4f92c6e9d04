using System.ComponentModel;
using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using SocketServer.Internal;

namespace SocketServer.Forking;

/// <summary>
/// The master's side of the forking model: starts worker processes, admits them on a private
/// control socket, hands each verified request to the least-busy worker (the connection's
/// descriptor itself, by <c>SCM_RIGHTS</c>), queues what no worker can take yet (bounded), and
/// supervises — a worker that dies loses only its own requests and is replaced; one that stops
/// answering, or runs a request past the limit, is killed and replaced. See docs/forking.md.
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
    private readonly Queue<Request> _pending = new();
    private readonly byte[] _message = new byte[WorkerMessages.MaxLength];
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
        var tick = TimeSpan.FromTicks(Math.Clamp(model.HangTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond * 50, TimeSpan.TicksPerSecond));
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
            else if (_startFailures >= MaxStartFailures && !_workers.Any(w => w.Ready))
            {
                refusal = $"no worker process is running ({_lastFailure})";
            }
            else
            {
                _pending.Enqueue(request);
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
            // The least busy; among equals, the next in turn, so short requests spread too.
            Worker? best = null;
            var count = _workers.Count;
            for (var i = 0; i < count; i++)
            {
                var worker = _workers[(_turn + i) % count];
                if (worker.Ready && !worker.Full && worker.InFlight.Count < _model.RequestsPerChild
                    && (best is null || worker.InFlight.Count < best.InFlight.Count))
                {
                    best = worker;
                }
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
                best.InFlight[id] = (request, Stopwatch.GetTimestamp());
                _turn = (_workers.IndexOf(best) + 1) % count;
                return true;
            }

            // Its queue is full (it has stopped reading) or it is gone: try another; the supervisor or
            // the reader deals with this one.
            best.Full = true;
        }
    }

    // Under _gate: back up to MinChildren, and more if queued requests need the room.
    private void Replenish()
    {
        while (!_closing && _workers.Count(w => !w.Gone) < _model.MinChildren && Spawn())
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
        var alive = _workers.Count(w => !w.Gone);
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
        var worker = new Worker(number, process, token) { Started = Stopwatch.GetTimestamp() };

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
        channel.ReceiveTimeout = (int)HelloTimeout.TotalMilliseconds;
        var hello = new byte[64];
        var received = channel.Receive(hello);
        if (received != 5 + WorkerMessages.TokenLength || hello[0] != WorkerMessages.Hello)
        {
            throw new InvalidDataException("the first message was not a worker's hello");
        }

        var number = BitConverter.ToInt32(hello, 1);
        var token = hello.AsSpan(5, WorkerMessages.TokenLength);

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

        channel.ReceiveTimeout = 0;
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
            channel.Dispose();
            return;
        }

        WorkerLog.Ready(_logger, number, pid);
        new Thread(() => Listen(worker)) { IsBackground = true, Name = $"socketserver worker {number}" }.Start();
        _changed.Release();
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
            }
        }

        if (request is not null)
        {
            _server.CompleteHandedOff(request);
            Pump();
        }
    }

    // The worker can take no more: its requests in flight are lost (their connections died with it).
    private void Lose(Worker worker)
    {
        List<Request>? lost;
        lock (_gate)
        {
            lost = WriteOff(worker);
        }

        Release(worker, lost);
    }

    // Under _gate: the worker takes nothing more (and a late connect cannot revive it); returns its
    // requests in flight, lost with it, or null when it was written off already.
    private static List<Request>? WriteOff(Worker worker)
    {
        if (worker.Gone)
        {
            return null;
        }

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

        worker.Channel?.Dispose();
        foreach (var request in lost)
        {
            _server.CompleteHandedOff(request);
        }
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
        if (closing && (code == 0 || worker.Stopped))
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
        if (_startFailures < MaxStartFailures || _workers.Any(w => w.Ready))
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
        lock (_gate)
        {
            while (_pending.Count > 0 && TrySend(_pending.Peek()))
            {
                _pending.Dequeue();
            }

            StopWorkersWhenQueueEmpty();
        }
    }

    private void Supervise()
    {
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
                    if (Stopwatch.GetElapsedTime(worker.Started) > _model.StartTimeout)
                    {
                        Doom(worker, $"it did not connect within {_model.StartTimeout.TotalSeconds:0.#} s (StartTimeout)");
                    }

                    continue;
                }

                if (Stopwatch.GetElapsedTime(worker.LastHeard) > _model.HangTimeout)
                {
                    Doom(worker, $"it has not answered for {_model.HangTimeout.TotalSeconds:0.#} s (HangTimeout)");
                    continue;
                }

                if (_model.RequestTimeLimit is { } limit && worker.InFlight.Values.FirstOrDefault(e => Stopwatch.GetElapsedTime(e.Started, now) > limit) is { Request: { } late })
                {
                    Doom(worker, $"the request from {late} ran longer than {limit.TotalSeconds:0.#} s (RequestTimeLimit)");
                    continue;
                }

                worker.Full = DescriptorPassing.Send(worker.Channel!, [WorkerMessages.Ping], -1) != 0 && worker.Full;
            }

            if (_startFailures >= MaxStartFailures && Stopwatch.GetElapsedTime(_lastRetry) > RetryInterval)
            {
                // Give starting another go now and then, in case what broke it (a missing file, a full disk) is fixed.
                _startFailures = MaxStartFailures - 1;
                _lastRetry = now;
                if (_workers.Count(w => !w.Gone) < Math.Max(1, _model.MinChildren))
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

        /// <summary>Connected and taking requests.</summary>
        public bool Ready { get; set; }

        public bool EverReady => Channel is not null;

        /// <summary>Its channel is closed: it takes nothing more and its requests were written off.</summary>
        public bool Gone { get; set; }

        /// <summary>A send found its queue full; cleared when it finishes a request or answers a ping.</summary>
        public bool Full { get; set; }

        /// <summary>It was told to stop (closing), so its exit is expected.</summary>
        public bool Stopped { get; set; }

        public int Lost { get; set; }

        public long LastHeard { get; set; }

        public Dictionary<long, (Request Request, long Started)> InFlight { get; } = [];
    }
}

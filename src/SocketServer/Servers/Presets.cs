using System.Net;

namespace SocketServer;

// Python's eight ready-made combinations, by name, so a Python user finds them. Each is a server
// class with its model fixed; nothing else differs, so they share one file.

/// <summary>Python's <c>ThreadingTCPServer</c>: a <see cref="TcpServer"/> running each request on a thread of its own (<see cref="ThreadingModel"/>).</summary>
public class ThreadingTcpServer : TcpServer
{
    /// <summary>Creates and binds the server.</summary>
    public ThreadingTcpServer(EndPoint serverAddress, HandlerFactory handler, ServerOptions? options = null, bool bindAndActivate = true)
        : base(serverAddress, handler, new ThreadingModel(), options, bindAndActivate)
    {
    }

    /// <summary>Creates and binds the server on <paramref name="host"/> and <paramref name="port"/>.</summary>
    public ThreadingTcpServer(string host, int port, HandlerFactory handler, ServerOptions? options = null, bool bindAndActivate = true)
        : base(host, port, handler, new ThreadingModel(), options, bindAndActivate)
    {
    }

    /// <summary>Python's <c>daemon_threads</c>: see <see cref="ThreadingModel.DaemonThreads"/>.</summary>
    public bool DaemonThreads
    {
        get => ((ThreadingModel)Model).DaemonThreads;
        set => ((ThreadingModel)Model).DaemonThreads = value;
    }

    /// <summary>Python's <c>block_on_close</c>: see <see cref="ThreadingModel.BlockOnClose"/>.</summary>
    public bool BlockOnClose
    {
        get => ((ThreadingModel)Model).BlockOnClose;
        set => ((ThreadingModel)Model).BlockOnClose = value;
    }
}

/// <summary>Python's <c>ThreadingUDPServer</c>: a <see cref="UdpServer"/> running each request on a thread of its own (<see cref="ThreadingModel"/>).</summary>
public class ThreadingUdpServer : UdpServer
{
    /// <summary>Creates and binds the server.</summary>
    public ThreadingUdpServer(EndPoint serverAddress, HandlerFactory handler, ServerOptions? options = null, bool bindAndActivate = true)
        : base(serverAddress, handler, new ThreadingModel(), options, bindAndActivate)
    {
    }

    /// <summary>Creates and binds the server on <paramref name="host"/> and <paramref name="port"/>.</summary>
    public ThreadingUdpServer(string host, int port, HandlerFactory handler, ServerOptions? options = null, bool bindAndActivate = true)
        : base(host, port, handler, new ThreadingModel(), options, bindAndActivate)
    {
    }

    /// <summary>Python's <c>daemon_threads</c>: see <see cref="ThreadingModel.DaemonThreads"/>.</summary>
    public bool DaemonThreads
    {
        get => ((ThreadingModel)Model).DaemonThreads;
        set => ((ThreadingModel)Model).DaemonThreads = value;
    }

    /// <summary>Python's <c>block_on_close</c>: see <see cref="ThreadingModel.BlockOnClose"/>.</summary>
    public bool BlockOnClose
    {
        get => ((ThreadingModel)Model).BlockOnClose;
        set => ((ThreadingModel)Model).BlockOnClose = value;
    }
}

/// <summary>Python's <c>ThreadingUnixStreamServer</c>: a <see cref="UnixStreamServer"/> running each request on a thread of its own (<see cref="ThreadingModel"/>).</summary>
public class ThreadingUnixStreamServer : UnixStreamServer
{
    /// <summary>Creates and binds the server on the socket file <paramref name="path"/>.</summary>
    public ThreadingUnixStreamServer(string path, HandlerFactory handler, ServerOptions? options = null, bool bindAndActivate = true)
        : base(path, handler, new ThreadingModel(), options, bindAndActivate)
    {
    }

    /// <summary>Python's <c>daemon_threads</c>: see <see cref="ThreadingModel.DaemonThreads"/>.</summary>
    public bool DaemonThreads
    {
        get => ((ThreadingModel)Model).DaemonThreads;
        set => ((ThreadingModel)Model).DaemonThreads = value;
    }

    /// <summary>Python's <c>block_on_close</c>: see <see cref="ThreadingModel.BlockOnClose"/>.</summary>
    public bool BlockOnClose
    {
        get => ((ThreadingModel)Model).BlockOnClose;
        set => ((ThreadingModel)Model).BlockOnClose = value;
    }
}

/// <summary>Python's <c>ThreadingUnixDatagramServer</c>: a <see cref="UnixDatagramServer"/> running each request on a thread of its own (<see cref="ThreadingModel"/>).</summary>
public class ThreadingUnixDatagramServer : UnixDatagramServer
{
    /// <summary>Creates and binds the server on the socket file <paramref name="path"/>.</summary>
    public ThreadingUnixDatagramServer(string path, HandlerFactory handler, ServerOptions? options = null, bool bindAndActivate = true)
        : base(path, handler, new ThreadingModel(), options, bindAndActivate)
    {
    }

    /// <summary>Python's <c>daemon_threads</c>: see <see cref="ThreadingModel.DaemonThreads"/>.</summary>
    public bool DaemonThreads
    {
        get => ((ThreadingModel)Model).DaemonThreads;
        set => ((ThreadingModel)Model).DaemonThreads = value;
    }

    /// <summary>Python's <c>block_on_close</c>: see <see cref="ThreadingModel.BlockOnClose"/>.</summary>
    public bool BlockOnClose
    {
        get => ((ThreadingModel)Model).BlockOnClose;
        set => ((ThreadingModel)Model).BlockOnClose = value;
    }
}

/// <summary>Python's <c>ForkingTCPServer</c>: a <see cref="TcpServer"/> running each request in a worker process (<see cref="ForkingModel"/>; Linux).</summary>
public class ForkingTcpServer : TcpServer
{
    /// <summary>Creates and binds the server.</summary>
    public ForkingTcpServer(EndPoint serverAddress, HandlerFactory handler, ServerOptions? options = null, bool bindAndActivate = true)
        : base(serverAddress, handler, new ForkingModel(), options, bindAndActivate)
    {
    }

    /// <summary>Creates and binds the server on <paramref name="host"/> and <paramref name="port"/>.</summary>
    public ForkingTcpServer(string host, int port, HandlerFactory handler, ServerOptions? options = null, bool bindAndActivate = true)
        : base(host, port, handler, new ForkingModel(), options, bindAndActivate)
    {
    }

    /// <summary>Python's <c>max_children</c>: see <see cref="ForkingModel.MaxChildren"/>.</summary>
    public int MaxChildren
    {
        get => ((ForkingModel)Model).MaxChildren;
        set => ((ForkingModel)Model).MaxChildren = value;
    }

    /// <summary>Python's <c>block_on_close</c>: see <see cref="ForkingModel.BlockOnClose"/>.</summary>
    public bool BlockOnClose
    {
        get => ((ForkingModel)Model).BlockOnClose;
        set => ((ForkingModel)Model).BlockOnClose = value;
    }

    /// <summary>Python's <c>active_children</c>: see <see cref="ForkingModel.ActiveChildren"/>.</summary>
    public IReadOnlyList<int> ActiveChildren => ((ForkingModel)Model).ActiveChildren;

    /// <summary>Python's <c>collect_children</c>: see <see cref="ForkingModel.CollectChildren"/>.</summary>
    public void CollectChildren() => ((ForkingModel)Model).CollectChildren();
}

/// <summary>Python's <c>ForkingUDPServer</c>: a <see cref="UdpServer"/> running each request in a worker process (<see cref="ForkingModel"/>; Linux).</summary>
public class ForkingUdpServer : UdpServer
{
    /// <summary>Creates and binds the server.</summary>
    public ForkingUdpServer(EndPoint serverAddress, HandlerFactory handler, ServerOptions? options = null, bool bindAndActivate = true)
        : base(serverAddress, handler, new ForkingModel(), options, bindAndActivate)
    {
    }

    /// <summary>Creates and binds the server on <paramref name="host"/> and <paramref name="port"/>.</summary>
    public ForkingUdpServer(string host, int port, HandlerFactory handler, ServerOptions? options = null, bool bindAndActivate = true)
        : base(host, port, handler, new ForkingModel(), options, bindAndActivate)
    {
    }

    /// <summary>Python's <c>max_children</c>: see <see cref="ForkingModel.MaxChildren"/>.</summary>
    public int MaxChildren
    {
        get => ((ForkingModel)Model).MaxChildren;
        set => ((ForkingModel)Model).MaxChildren = value;
    }

    /// <summary>Python's <c>block_on_close</c>: see <see cref="ForkingModel.BlockOnClose"/>.</summary>
    public bool BlockOnClose
    {
        get => ((ForkingModel)Model).BlockOnClose;
        set => ((ForkingModel)Model).BlockOnClose = value;
    }

    /// <summary>Python's <c>active_children</c>: see <see cref="ForkingModel.ActiveChildren"/>.</summary>
    public IReadOnlyList<int> ActiveChildren => ((ForkingModel)Model).ActiveChildren;

    /// <summary>Python's <c>collect_children</c>: see <see cref="ForkingModel.CollectChildren"/>.</summary>
    public void CollectChildren() => ((ForkingModel)Model).CollectChildren();
}

/// <summary>Python's <c>ForkingUnixStreamServer</c>: a <see cref="UnixStreamServer"/> running each request in a worker process (<see cref="ForkingModel"/>; Linux).</summary>
public class ForkingUnixStreamServer : UnixStreamServer
{
    /// <summary>Creates and binds the server on the socket file <paramref name="path"/>.</summary>
    public ForkingUnixStreamServer(string path, HandlerFactory handler, ServerOptions? options = null, bool bindAndActivate = true)
        : base(path, handler, new ForkingModel(), options, bindAndActivate)
    {
    }

    /// <summary>Python's <c>max_children</c>: see <see cref="ForkingModel.MaxChildren"/>.</summary>
    public int MaxChildren
    {
        get => ((ForkingModel)Model).MaxChildren;
        set => ((ForkingModel)Model).MaxChildren = value;
    }

    /// <summary>Python's <c>block_on_close</c>: see <see cref="ForkingModel.BlockOnClose"/>.</summary>
    public bool BlockOnClose
    {
        get => ((ForkingModel)Model).BlockOnClose;
        set => ((ForkingModel)Model).BlockOnClose = value;
    }

    /// <summary>Python's <c>active_children</c>: see <see cref="ForkingModel.ActiveChildren"/>.</summary>
    public IReadOnlyList<int> ActiveChildren => ((ForkingModel)Model).ActiveChildren;

    /// <summary>Python's <c>collect_children</c>: see <see cref="ForkingModel.CollectChildren"/>.</summary>
    public void CollectChildren() => ((ForkingModel)Model).CollectChildren();
}

/// <summary>Python's <c>ForkingUnixDatagramServer</c>: a <see cref="UnixDatagramServer"/> running each request in a worker process (<see cref="ForkingModel"/>; Linux).</summary>
public class ForkingUnixDatagramServer : UnixDatagramServer
{
    /// <summary>Creates and binds the server on the socket file <paramref name="path"/>.</summary>
    public ForkingUnixDatagramServer(string path, HandlerFactory handler, ServerOptions? options = null, bool bindAndActivate = true)
        : base(path, handler, new ForkingModel(), options, bindAndActivate)
    {
    }

    /// <summary>Python's <c>max_children</c>: see <see cref="ForkingModel.MaxChildren"/>.</summary>
    public int MaxChildren
    {
        get => ((ForkingModel)Model).MaxChildren;
        set => ((ForkingModel)Model).MaxChildren = value;
    }

    /// <summary>Python's <c>block_on_close</c>: see <see cref="ForkingModel.BlockOnClose"/>.</summary>
    public bool BlockOnClose
    {
        get => ((ForkingModel)Model).BlockOnClose;
        set => ((ForkingModel)Model).BlockOnClose = value;
    }

    /// <summary>Python's <c>active_children</c>: see <see cref="ForkingModel.ActiveChildren"/>.</summary>
    public IReadOnlyList<int> ActiveChildren => ((ForkingModel)Model).ActiveChildren;

    /// <summary>Python's <c>collect_children</c>: see <see cref="ForkingModel.CollectChildren"/>.</summary>
    public void CollectChildren() => ((ForkingModel)Model).CollectChildren();
}

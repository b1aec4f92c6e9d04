using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using SocketServer.Tests.Fixtures;

namespace SocketServer.Tests.Tls.Fixtures;

/// <summary>
/// TLS clients that are not ours, run as processes against a server: <c>openssl s_client</c> and a python3
/// <c>ssl</c> script. Both trust the test CA and check the server's name (localhost).
/// </summary>
public static class TlsPeers
{
    /// <summary>
    /// <c>openssl s_client</c> with <paramref name="input"/> on its stdin (all of it, then end of input);
    /// <c>-quiet</c> also waits, after the input, until the server closes. Extra arguments go after the
    /// usual ones (<c>-alpn</c>, <c>-tls1_1</c>, <c>-sess_out</c>).
    /// </summary>
    public static (int ExitCode, string Stdout, string Stderr) OpenSsl(BaseServer server, string input, params string[] extra)
    {
        var openssl = PeerTools.Require("openssl");
        var arguments = new List<string> { "s_client" };
        arguments.AddRange(Target(server));
        arguments.AddRange(["-servername", "localhost", "-CAfile", TestCertificates.Shared.AuthorityFile, "-verify_return_error", "-verify_hostname", "localhost"]);
        arguments.AddRange(extra);
        return PeerTools.Run(openssl, input, Bounded.Wait, [.. arguments]);
    }

    /// <summary>Where s_client connects: <c>-connect host:port</c> or <c>-unix path</c>.</summary>
    public static string[] Target(BaseServer server) => server.ServerAddress switch
    {
        IPEndPoint ip => ["-connect", ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{ip.Address}]:{ip.Port}" : $"{ip.Address}:{ip.Port}"],
        var unix => ["-unix", BaseServer.Describe(unix)],
    };

    /// <summary>What the python client reports.</summary>
    public sealed record PythonResult(
        List<string> Answers, string End, string Version, string? Alpn, List<bool> Reused, string? Error);

    /// <summary>
    /// python3's <c>ssl</c> module as the client (<see cref="PythonScript"/>): sends <paramref name="lines"/>
    /// one at a time, reading an answer to each, then reads to the end and says how the stream ended: "clean"
    /// (the server's close_notify: <c>recv</c> returned b'' with <c>suppress_ragged_eofs=False</c>), "ragged"
    /// (TCP closed without it: <c>SSLEOFError</c>), "reset", or "open" (no end within the wait).
    /// <paramref name="connections"/> &gt; 1 reconnects that many times offering the last session (resumption).
    /// A connection the server cut before all the answers came ends the run with <c>Error</c> "closed before an answer: …".
    /// </summary>
    public static PythonResult Python(BaseServer server, IReadOnlyList<string> lines, string? maxVersion = null,
        IReadOnlyList<string>? alpn = null, int connections = 1, bool clientCertificate = false)
    {
        var python = PeerTools.Require("python3");
        var certificates = TestCertificates.Shared;
        var target = server.ServerAddress is IPEndPoint ip ? (object)new object[] { ip.Address.ToString(), ip.Port } : BaseServer.Describe(server.ServerAddress);
        var request = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["target"] = target,
            ["ca"] = certificates.AuthorityFile,
            ["lines"] = lines,
            ["max_version"] = maxVersion,
            ["alpn"] = alpn,
            ["connections"] = connections,
            ["cert"] = clientCertificate ? new[] { certificates.ClientFile, certificates.ClientKeyFile } : null,
            ["timeout"] = Bounded.Wait.TotalSeconds,
        });
        var (exit, stdout, stderr) = PeerTools.Run(python, string.Empty, Bounded.Wait + TimeSpan.FromSeconds(10), "-c", PythonScript, request);
        Assert.True(exit == 0, $"python3 failed ({exit}):\n{stdout}\n{stderr}");
        return JsonSerializer.Deserialize<PythonResult>(stdout, JsonOptions) ?? throw new InvalidOperationException("python3 printed nothing");
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNameCaseInsensitive = true };

    /// <summary>The python client: one JSON argument in, one JSON object out.</summary>
    public const string PythonScript = """
        import json, socket, ssl, sys
        req = json.loads(sys.argv[1])
        ctx = ssl.create_default_context(cafile=req["ca"])
        if req["max_version"] == "1.2":
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if req["alpn"]:
            ctx.set_alpn_protocols(req["alpn"])
        if req["cert"]:
            ctx.load_cert_chain(req["cert"][0], req["cert"][1])
        out = {"answers": [], "end": "", "version": "", "alpn": None, "reused": [], "error": None}
        session = None
        for n in range(req["connections"]):
            t = req["target"]
            if isinstance(t, list):
                raw = socket.create_connection((t[0], t[1]), timeout=req["timeout"])
            else:
                raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                raw.settimeout(req["timeout"])
                raw.connect(t)
            try:
                s = ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False, session=session)
            except (ssl.SSLError, OSError) as e:
                out["error"] = type(e).__name__ + ": " + str(e)
                break
            out["version"] = s.version()
            out["alpn"] = s.selected_alpn_protocol()
            out["reused"].append(s.session_reused)
            f = b""
            try:
                for line in req["lines"]:
                    s.sendall(line.encode() + b"\n")
                    while b"\n" not in f:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        f += chunk
                    answer, _, f = f.partition(b"\n")
                    out["answers"].append(answer.decode())
            except (ssl.SSLEOFError, ConnectionResetError, BrokenPipeError) as e:
                out["error"] = "closed before an answer: " + type(e).__name__ + ": " + str(e)
                break
            session = s.session
            if n + 1 < req["connections"]:
                s.close()
                continue
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        out["end"] = "clean"
                        break
            except ssl.SSLEOFError:
                out["end"] = "ragged"
            except (ConnectionResetError, BrokenPipeError):
                out["end"] = "reset"
            except (socket.timeout, TimeoutError):
                out["end"] = "open"
            except ssl.SSLError as e:
                out["end"] = "sslerror: " + str(e)
            s.close()
        print(json.dumps(out))
        """;
}

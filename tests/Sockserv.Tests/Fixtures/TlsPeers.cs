namespace Sockserv.Tests.Fixtures;

/// <summary>
/// The TLS clients that are not ours, against <c>sockserv echo --tls</c>: <c>openssl s_client</c> and Python's
/// <c>ssl</c> module. A target is a TCP port on 127.0.0.1 or a Unix socket path (starting with /).
/// </summary>
public static class TlsPeers
{
    /// <summary>
    /// <c>openssl s_client</c> sends <paramref name="line"/> and waits for <paramref name="expected"/> before its
    /// input ends (with <c>-no_ign_eof</c>, after <c>-quiet</c> which turns on the opposite, it then closes, with
    /// close_notify); returns what it printed.
    /// </summary>
    public static (string Stdout, string Stderr) OpenSslEcho(string target, string line, string expected, params string[] options)
    {
        var openssl = Peer.Require("openssl");
        string[] address = target.StartsWith('/') ? ["-unix", target] : ["-connect", $"127.0.0.1:{target}"];
        using var client = PeerProcess.Start(openssl, ["s_client", .. address, .. (options.Length == 0 ? ["-quiet"] : options), "-no_ign_eof"]);
        client.WriteLine(line);
        client.WaitForStdout(expected);
        client.CloseInput();
        client.WaitForExit();
        Assert.True(client.ExitCode == 0, $"openssl s_client exited {client.ExitCode}: {client.Stderr}");
        return (client.Stdout, client.Stderr);
    }

    /// <summary>
    /// Python's <c>ssl</c> as a client, driven line by line through its stdin: <c>send TEXT</c> prints
    /// <c>ECHO ANSWER</c>; <c>unwrap</c> sends close_notify and waits for the server's (<c>CLEAN CLOSE</c>);
    /// <c>wait</c> prints <c>WAITING</c> and then <c>CLEAN EOF</c> when the server ends the connection with
    /// close_notify. Ragged EOFs are not suppressed: a connection closed without close_notify prints
    /// <c>UNCLEAN EOF</c> and exits 1. It first prints <c>VERSION TLSv1.3</c> and <c>FINGERPRINT SHA256:…</c>.
    /// With <paramref name="cafile"/> it verifies the certificate against it (and the name localhost); without, nothing.
    /// </summary>
    public static PeerProcess Python(string target, string? cafile = null)
    {
        var python = Peer.Require("python3");
        var client = PeerProcess.Start(python, cafile is null ? ["-u", "-c", PythonClient, target] : ["-u", "-c", PythonClient, target, cafile]);
        try
        {
            client.WaitForStdout("FINGERPRINT ");
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>The fingerprint a Python client printed (<c>FINGERPRINT SHA256:…</c>).</summary>
    public static string Fingerprint(PeerProcess python) =>
        System.Text.RegularExpressions.Regex.Match(python.Stdout, "FINGERPRINT (SHA256:[0-9A-F:]+)").Groups[1].Value;

    /// <summary>Connects, records the server's fingerprint, and closes cleanly.</summary>
    public static string FingerprintOf(string target)
    {
        using var python = Python(target);
        python.WriteLine("unwrap");
        python.WaitForStdout("CLEAN CLOSE");
        python.WaitForExit();
        return Fingerprint(python);
    }

    private const string PythonClient = """
        import hashlib, socket, ssl, sys
        target = sys.argv[1]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if len(sys.argv) > 2:
            context.load_verify_locations(sys.argv[2])
        else:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if target.startswith('/'):
            raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            raw.settimeout(30)
            raw.connect(target)
        else:
            raw = socket.create_connection(('127.0.0.1', int(target)), timeout=30)
        tls = context.wrap_socket(raw, server_hostname='localhost', suppress_ragged_eofs=False)
        print('VERSION', tls.version())
        print('FINGERPRINT SHA256:' + ':'.join('%02X' % b for b in hashlib.sha256(tls.getpeercert(binary_form=True)).digest()))
        try:
            for command in sys.stdin:
                command = command.rstrip('\n')
                if command.startswith('send '):
                    tls.sendall(command[5:].encode() + b'\n')
                    answer = b''
                    while not answer.endswith(b'\n'):
                        chunk = tls.recv(4096)
                        if not chunk:
                            print('CLOSED')
                            sys.exit(1)
                        answer += chunk
                    print('ECHO', answer.decode().rstrip('\n'))
                elif command == 'unwrap':
                    tls.unwrap()
                    print('CLEAN CLOSE')
                    sys.exit(0)
                elif command == 'wait':
                    print('WAITING')
                    rest = tls.recv(4096)
                    print('CLEAN EOF' if rest == b'' else 'DATA %r' % rest)
                    sys.exit(0 if rest == b'' else 1)
        except ssl.SSLEOFError as e:
            print('UNCLEAN EOF', e)
            sys.exit(1)
        except OSError as e:
            print('ERROR', type(e).__name__, e)
            sys.exit(1)
        """;
}

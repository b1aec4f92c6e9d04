using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SocketServer.Tls;

/// <summary>
/// The client's trust-on-first-use store, as ssh's <c>StrictHostKeyChecking=accept-new</c>: the first
/// certificate a server presents is recorded, later connections must present the same one. Each line is
/// <c>HOST:PORT SHA256:AB:CD:…</c> (an IPv6 address in brackets, <c>[::1]:7000</c>); blank lines and
/// lines starting with <c>#</c> are ignored.
/// </summary>
/// <remarks>
/// Host names are compared without case (DNS names are case-insensitive, RFC 4343) and addresses in their
/// canonical form. The port is part of the key: two servers on one machine have two identities. A server on a
/// Unix stream socket is recorded by its absolute path, <c>unix:/run/app.sock</c> (<see cref="VerifyUnix"/>;
/// white space, <c>#</c> and <c>%</c> in the path as <c>%XX</c>), compared with case.
/// </remarks>
public sealed class KnownHosts
{
    /// <summary>The environment variable that, when set, names the known-hosts file instead of <c>~/.sockserv/known_hosts</c>.</summary>
    public const string EnvironmentVariable = "SOCKSERV_KNOWN_HOSTS";

    /// <summary>Uses the known-hosts file <paramref name="filePath"/>; nothing is created until the first <see cref="Add"/>.</summary>
    public KnownHosts(string filePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        FilePath = filePath;
    }

    /// <summary>
    /// <c>$SOCKSERV_KNOWN_HOSTS</c> when set, else <c>.sockserv/known_hosts</c> in the user's home directory.
    /// </summary>
    public static string DefaultPath =>
        DefaultPathFrom(Environment.GetEnvironmentVariable(EnvironmentVariable), Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary>The known-hosts file.</summary>
    public string FilePath { get; }

    /// <summary>Whether <paramref name="fingerprint"/> is the one recorded for <paramref name="host"/>:<paramref name="port"/>.</summary>
    /// <param name="host">The host name or address the client connected to, as the user gave it.</param>
    /// <param name="port">The server's port.</param>
    /// <param name="fingerprint">The presented certificate's <see cref="ServerCertificate.Fingerprint"/>.</param>
    /// <exception cref="SocketServerException">The file cannot be read or has a malformed line.</exception>
    public KnownHostResult Check(string host, int port, string fingerprint)
    {
        ArgumentException.ThrowIfNullOrEmpty(fingerprint);
        var recorded = Lookup(HostKey(host, port));
        if (recorded.Count == 0)
        {
            return KnownHostResult.Unknown;
        }

        return recorded.Exists(line => line.Fingerprint.Equals(fingerprint, StringComparison.OrdinalIgnoreCase))
            ? KnownHostResult.Known
            : KnownHostResult.Changed;
    }

    /// <summary>The fingerprint recorded for <paramref name="host"/>:<paramref name="port"/> (the first, if several), or null.</summary>
    /// <exception cref="SocketServerException">The file cannot be read or has a malformed line.</exception>
    public string? Find(string host, int port)
    {
        var recorded = Lookup(HostKey(host, port));
        return recorded.Count == 0 ? null : recorded[0].Fingerprint;
    }

    /// <summary>
    /// Records <paramref name="fingerprint"/> for <paramref name="host"/>:<paramref name="port"/> at the end of the
    /// file, creating the directory (mode 0700) and the file (mode 0600) if missing.
    /// </summary>
    /// <exception cref="SocketServerException">The directory or the file cannot be made or written.</exception>
    public void Add(string host, int port, string fingerprint) => AddKey(HostKey(host, port), fingerprint);

    private void AddKey(string key, string fingerprint)
    {
        ArgumentException.ThrowIfNullOrEmpty(fingerprint);
        if (!IsFingerprint(fingerprint))
        {
            throw new ArgumentException($"'{fingerprint}' is not a fingerprint of the form {ServerCertificate.FingerprintPrefix}AB:CD:…", nameof(fingerprint));
        }

        var line = $"{key} {fingerprint}\n";
        var directory = Path.GetDirectoryName(Path.GetFullPath(FilePath));
        if (directory is not null)
        {
            PrivateFile.CreateDirectory(directory, "the known-hosts directory");
        }

        // One write of one short line in append mode: two clients recording at once interleave whole lines.
        try
        {
            using var stream = PrivateFile.OpenAppend(FilePath);
            stream.Write(Encoding.UTF8.GetBytes(line));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SocketServerException(
                Directory.Exists(FilePath) ? $"the known-hosts file {FilePath} is a directory, not a file" : $"cannot write the known-hosts file {FilePath}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The whole accept-new policy, for a <c>RemoteCertificateValidationCallback</c>: an unknown server is
    /// recorded and accepted, a known one accepted, a changed one or none refused. The chain and name errors
    /// that .NET reports are deliberately not consulted: the certificate is self-signed, and the recorded
    /// fingerprint is the trust.
    /// </summary>
    /// <param name="host">The host name or address the client connected to, as the user gave it.</param>
    /// <param name="port">The server's port.</param>
    /// <param name="certificate">What the server presented; null refuses.</param>
    /// <param name="message">
    /// Empty for a known server; otherwise lines for the caller to print on stderr: the fingerprint of a new
    /// server and where it was recorded, or why the connection is refused and what to do.
    /// </param>
    /// <returns>True to go on with the connection.</returns>
    public bool Verify(string host, int port, X509Certificate? certificate, out string message) =>
        VerifyKey(HostKey(host, port), certificate, out message);

    /// <summary>
    /// <see cref="Verify"/> for a server on the Unix stream socket <paramref name="path"/>: the same policy, the
    /// server recorded as <c>unix:</c> and the socket's absolute path.
    /// </summary>
    /// <param name="path">The socket file the client connected to (made absolute here).</param>
    /// <param name="certificate">What the server presented; null refuses.</param>
    /// <param name="message">As for <see cref="Verify"/>.</param>
    /// <returns>True to go on with the connection.</returns>
    public bool VerifyUnix(string path, X509Certificate? certificate, out string message) =>
        VerifyKey(UnixKey(path), certificate, out message);

    private bool VerifyKey(string key, X509Certificate? certificate, out string message)
    {
        if (certificate is null)
        {
            message = $"sockserv: {key} presented no certificate: refusing to connect";
            return false;
        }

        var fingerprint = ServerCertificate.Fingerprint(certificate);
        List<Recorded> recorded;
        try
        {
            recorded = Lookup(key);
        }
        catch (SocketServerException e)
        {
            // Reported, not thrown: an exception out of a validation callback reaches the user as a vague TLS failure.
            message = $"sockserv: error: {e.Message}";
            return false;
        }

        if (recorded.Exists(line => line.Fingerprint.Equals(fingerprint, StringComparison.OrdinalIgnoreCase)))
        {
            message = string.Empty;
            return true;
        }

        if (recorded.Count == 0)
        {
            try
            {
                AddKey(key, fingerprint);
            }
            catch (SocketServerException e)
            {
                // Refused rather than trusted unrecorded: otherwise every connection would be a first use.
                message = $"sockserv: error: new host {key}, fingerprint {fingerprint}, cannot be recorded in {FilePath} ({e.Message}): " +
                          $"make it writable or set {EnvironmentVariable} to a file that is";
                return false;
            }

            message = $"sockserv: new host {key}, fingerprint {fingerprint}, added to {FilePath}";
            return true;
        }

        var lines = string.Join(", ", recorded.Select(line => line.Line.ToString(CultureInfo.InvariantCulture)));
        var plural = recorded.Count == 1 ? "line" : "lines";
        message =
            $"sockserv: WARNING: the certificate of {key} has changed; refusing to connect.\n" +
            "Someone may be intercepting the connection, or the server's certificate was replaced.\n" +
            $"  recorded:  {recorded[0].Fingerprint} ({FilePath} {plural} {lines})\n" +
            $"  presented: {fingerprint}\n" +
            $"If the change is expected, delete {plural} {lines} of {FilePath} and connect again to record the new one.";
        return false;
    }

    /// <summary>The path <see cref="DefaultPath"/> gives for an override value and a home directory.</summary>
    internal static string DefaultPathFrom(string? overridePath, string home) =>
        string.IsNullOrWhiteSpace(overridePath) ? Path.Combine(home, ".sockserv", "known_hosts") : overridePath;

    /// <summary>
    /// <c>host:port</c> in one spelling per server: names in lower case, addresses canonical, IPv6 in brackets
    /// (so the last colon always separates the port).
    /// </summary>
    internal static string HostKey(string host, int port)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, IPEndPoint.MaxPort);

        var name = host.Trim();
        if (name.Length > 2 && name[0] == '[' && name[^1] == ']')
        {
            name = name[1..^1];
        }

        if (IPAddress.TryParse(name, out var address))
        {
            name = address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        }
        else
        {
            name = name.ToLowerInvariant();
        }

        return $"{name}:{port.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary><c>unix:</c> and the absolute path, with white space, <c>#</c> and <c>%</c> as <c>%XX</c> (a line is two fields).</summary>
    internal static string UnixKey(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        var key = new StringBuilder(UnixPrefix, UnixPrefix.Length + full.Length);
        foreach (var c in full)
        {
            if (c is <= ' ' or '#' or '%' or '\u007f')
            {
                key.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                key.Append(c);
            }
        }

        return key.ToString();
    }

    private const string UnixPrefix = "unix:";

    private static bool IsFingerprint(string text) =>
        text.StartsWith(ServerCertificate.FingerprintPrefix, StringComparison.OrdinalIgnoreCase)
        && text.Length > ServerCertificate.FingerprintPrefix.Length
        && !text.AsSpan().ContainsAny(" \t\r\n#");

    private List<Recorded> Lookup(string key)
    {
        var lines = PrivateFile.ReadLines(FilePath, "the known-hosts file");
        if (lines is null)
        {
            return [];
        }

        var found = new List<Recorded>();
        for (var i = 0; i < lines.Length; i++)
        {
            var text = lines[i].Trim();
            if (text.Length == 0 || text[0] == '#')
            {
                continue;
            }

            var fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var colon = fields[0].LastIndexOf(':');
            var unix = fields[0].StartsWith(UnixPrefix + "/", StringComparison.Ordinal);
            if (fields.Length != 2
                || (!unix && (colon <= 0 || !int.TryParse(fields[0].AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                || !IsFingerprint(fields[1]))
            {
                throw new SocketServerException(
                    $"{FilePath} line {i + 1} is not 'HOST:PORT {ServerCertificate.FingerprintPrefix}AB:CD:…': fix or delete that line");
            }

            // A path's case is its own; a host name's is not.
            if (fields[0].Equals(key, unix ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase))
            {
                found.Add(new Recorded(fields[1], i + 1));
            }
        }

        return found;
    }

    private readonly record struct Recorded(string Fingerprint, int Line);
}

using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace SocketServer.Tls.Internal;

/// <summary>
/// Where a server's certificate comes from (one of <see cref="TlsOptions"/>' sources), how to load it, and
/// what its files looked like when it was loaded, so a change can be noticed by modification time and size
/// (two stat calls, no watcher: it works the same in every worker process and on every file system).
/// </summary>
internal sealed class CertificateSource
{
    private readonly TlsOptions _options;
    private readonly string[] _files;

    public CertificateSource(TlsOptions options)
    {
        _options = options;
        _files = options switch
        {
            { CertificateFile: { } certificate, KeyFile: { } key } => [certificate, key],
            { CertificateFile: { } certificate } => [certificate],
            { PfxFile: { } pfx, PfxPasswordFile: { } password } => [pfx, password],
            { PfxFile: { } pfx } => [pfx],
            { SelfSignedDirectory: { } directory } => [Path.Combine(directory, ServerCertificate.FileName)],
            _ => [],
        };
        Description = options switch
        {
            { CertificateFile: { } certificate, KeyFile: { } key } => $"{certificate} (key {key})",
            { CertificateFile: { } certificate } => certificate,
            { PfxFile: { } pfx } => pfx,
            { SelfSignedDirectory: { } directory } => Path.Combine(directory, ServerCertificate.FileName),
            _ => "the certificate given in TlsOptions.Certificate",
        };
    }

    /// <summary>The source as a log line names it: the file(s), or the in-memory certificate.</summary>
    public string Description { get; }

    /// <summary>False for a certificate object given in the options: there is nothing to reload it from.</summary>
    public bool HasFiles => _files.Length > 0;

    /// <summary>
    /// Loads the certificate and its chain. The first load of a self-signed source makes the certificate when
    /// it is missing (<paramref name="created"/>); a reload does not, so a deleted file keeps the one in use
    /// instead of silently changing the server's identity.
    /// </summary>
    /// <exception cref="SocketServerException">The files cannot be read or hold no usable certificate.</exception>
    public Loaded Load(bool first, out bool created)
    {
        created = false;
        var stamps = Stamp();
        X509Certificate2 certificate;
        X509Certificate2Collection chain;
        switch (_options)
        {
            case { CertificateFile: { } file }:
                (certificate, chain) = ServerCertificate.LoadPemChain(file, _options.KeyFile);
                break;
            case { PfxFile: { } pfx }:
                (certificate, chain) = ServerCertificate.LoadPfxChain(pfx, Password());
                break;
            case { SelfSignedDirectory: { } directory } when first:
                certificate = ServerCertificate.LoadOrCreate(directory, _options.SelfSignedHostName ?? Dns.GetHostName(), out created);
                chain = [];
                stamps = Stamp();
                break;
            case { SelfSignedDirectory: { } directory }:
                var path = Path.Combine(directory, ServerCertificate.FileName);
                if (!File.Exists(path))
                {
                    throw new SocketServerException($"TLS certificate {path} is gone: put it back (a restart would make a new identity, which clients that know this one refuse)");
                }

                certificate = ServerCertificate.LoadOrCreate(directory, _options.SelfSignedHostName ?? Dns.GetHostName(), out _);
                chain = [];
                break;
            default:
                certificate = _options.Certificate!;
                chain = [];
                break;
        }

        return new Loaded(certificate, chain, stamps);
    }

    /// <summary>Whether the files differ from <paramref name="stamps"/> (modification time or size).</summary>
    public bool Changed(FileStamp[] stamps)
    {
        for (var i = 0; i < _files.Length; i++)
        {
            if (i >= stamps.Length || !stamps[i].Equals(FileStamp.Of(_files[i])))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>What the files look like now.</summary>
    public FileStamp[] Stamp()
    {
        var stamps = new FileStamp[_files.Length];
        for (var i = 0; i < stamps.Length; i++)
        {
            stamps[i] = FileStamp.Of(_files[i]);
        }

        return stamps;
    }

    private string? Password()
    {
        if (_options.PfxPasswordFile is not { } file)
        {
            return _options.PfxPassword;
        }

        try
        {
            using var reader = new StreamReader(file);
            return reader.ReadLine() ?? string.Empty;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SocketServerException($"the PFX password file {file} cannot be read: {e.Message}", e);
        }
    }

    /// <summary>A loaded certificate, its chain, and its files' stamps at the time.</summary>
    public sealed record Loaded(X509Certificate2 Certificate, X509Certificate2Collection Chain, FileStamp[] Stamps);
}

/// <summary>A file's modification time and size (both unset for a missing file).</summary>
internal readonly record struct FileStamp(DateTime WrittenUtc, long Length)
{
    public static FileStamp Of(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? new FileStamp(info.LastWriteTimeUtc, info.Length) : new FileStamp(DateTime.MinValue, -1);
    }
}

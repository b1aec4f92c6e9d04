using System.ComponentModel;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace SocketServer.Tls;

/// <summary>
/// The client side of TLS, one way for every client of the project (exec's, the echo client's): a handshake
/// over a connected stream that trusts the server as <see cref="TlsClientOptions"/> says — pinned on first
/// use in known_hosts, chained to a CA file, or (for tests) not at all.
/// </summary>
public static class TlsClient
{
    /// <summary>
    /// Runs the client handshake over <paramref name="inner"/> (a connected socket's stream) and returns the
    /// TLS stream, which owns <paramref name="inner"/> (disposing it disposes both). Python's
    /// <c>SSLContext.wrap_socket(sock, server_hostname=…)</c>.
    /// </summary>
    /// <exception cref="TlsHandshakeException">
    /// The server's certificate was refused (<see cref="TlsHandshakeException.CertificateRefused"/>: the message says
    /// why, and for a changed known host what to do), the handshake failed, or it took longer than
    /// <see cref="TlsClientOptions.HandshakeTimeout"/>.
    /// </exception>
    /// <exception cref="SocketServerException">The CA file cannot be read.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<SslStream> AuthenticateAsync(Stream inner, TlsClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Host);
        var where = options.UnixPath ?? $"{options.Host}:{options.Port}";
        string? refusal = null;
        X509ChainPolicy policy;
        RemoteCertificateValidationCallback validate;
        if (options.Insecure)
        {
            policy = CertificateAuthorities.ChainPolicy([]);
            validate = static (_, _, _, _) => true;
        }
        else if (options.CertificateAuthorities is { } authorities)
        {
            policy = CertificateAuthorities.ChainPolicy(CertificateAuthorities.Load(authorities));
            validate = (_, certificate, _, errors) =>
            {
                if (errors == SslPolicyErrors.None)
                {
                    return true;
                }

                refusal = certificate is null
                    ? $"{where} presented no certificate: refusing to connect"
                    : $"the certificate of {where} is not trusted ({Describe(errors)}; checked against {authorities}): refusing to connect";
                return false;
            };
        }
        else
        {
            // The pin in known_hosts is the trust, so no chain is built against the system's roots:
            // loading them cost a third of a short exec command's whole run.
            policy = CertificateAuthorities.ChainPolicy([]);
            var knownHosts = new KnownHosts(options.KnownHostsPath);
            validate = (_, certificate, _, _) =>
            {
                // Trust on first use, as ssh's accept-new: the chain and name errors do not count.
                var known = options.UnixPath is { } path
                    ? knownHosts.VerifyUnix(path, certificate, out var message)
                    : knownHosts.Verify(options.Host, options.Port, certificate, out message);
                if (known)
                {
                    if (message.Length > 0)
                    {
                        options.Notice?.Invoke(message);
                    }

                    return true;
                }

                refusal = message;
                return false;
            };
        }

        var authentication = new SslClientAuthenticationOptions
        {
            TargetHost = options.Host,
            EnabledSslProtocols = options.Protocols,
            CertificateChainPolicy = policy,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = validate,
            ApplicationProtocols = options.ApplicationProtocols.Count == 0 ? null : [.. options.ApplicationProtocols.Select(p => new SslApplicationProtocol(p))],
            ClientCertificates = options.ClientCertificate is { } mine ? [mine] : null,
        };

        var tls = new SslStream(inner, leaveInnerStreamOpen: false);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.HandshakeTimeout);
        try
        {
            await tls.AuthenticateAsClientAsync(authentication, deadline.Token).ConfigureAwait(false);
            return tls;
        }
        catch (Exception e) when (refusal is not null && e is AuthenticationException or IOException)
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw new TlsHandshakeException(refusal, e) { CertificateRefused = true };
        }
        catch (Exception e) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested && e is OperationCanceledException or IOException or AuthenticationException)
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw new TlsHandshakeException($"TLS with {where}: no handshake within {options.HandshakeTimeout.TotalSeconds:0.###} s", e, timedOut: true);
        }
        catch (IOException e) when (!cancellationToken.IsCancellationRequested)
        {
            // SslStream's "unexpected EOF or 0 bytes": the server closed (or reset) the connection under
            // the handshake, as exec's login gate does to a refused address. Say that, not the runtime's words.
            await tls.DisposeAsync().ConfigureAwait(false);
            throw new TlsHandshakeException($"TLS with {where} failed: the server closed the connection during the handshake ({e.Message.TrimEnd('.')})", e);
        }
        catch (Exception e) when (e is AuthenticationException or Win32Exception && !cancellationToken.IsCancellationRequested)
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw new TlsHandshakeException($"TLS with {where} failed: {e.Message.TrimEnd('.')}", e);
        }
        catch
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static string Describe(SslPolicyErrors errors) => errors switch
    {
        SslPolicyErrors.RemoteCertificateNameMismatch => "it is not for that name",
        SslPolicyErrors.RemoteCertificateChainErrors => "it is not signed by a trusted authority, or has expired",
        _ => errors.ToString(),
    };
}

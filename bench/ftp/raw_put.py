#!/usr/bin/env python3
"""The simplest sender bench/ftp/client.sh compares the puts with: python3's ftplib logs in, then reads the file
256 KiB at a time and hands each piece to the socket (sendall), nothing else: no progress, no hash, no pipelining.
Its rate is what the server takes from a sender that does next to nothing, so it shows where the server's own
ceiling is. With --tls: explicit AUTH TLS and PROT P, the data connection resuming the control connection's TLS
session (vsftpd's require_ssl_reuse), without checking the certificate, like curl -k.

Usage: raw_put.py [--tls] HOST PORT USER LOCAL REMOTE   (the password from SOCKSERV_FTP_PASSWORD)
"""
import ftplib
import os
import ssl
import sys

CHUNK = 256 * 1024


class ReusingFtpTls(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's session, as vsftpd requires by default."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


def main(argv):
    tls = argv[:1] == ["--tls"]
    if tls:
        argv = argv[1:]
    if len(argv) != 5:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    host, port, user, local, remote = argv
    password = os.environ.get("SOCKSERV_FTP_PASSWORD")
    if password is None:
        print("raw_put.py: set SOCKSERV_FTP_PASSWORD", file=sys.stderr)
        return 2
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        ftp = ReusingFtpTls(context=context, timeout=60)
    else:
        ftp = ftplib.FTP(timeout=60)
    ftp.connect(host, int(port))
    ftp.login(user, password)
    if tls:
        ftp.prot_p()
    ftp.voidcmd("TYPE I")
    with open(local, "rb", buffering=0) as source:
        conn = ftp.transfercmd(f"STOR {remote}")
        with conn:
            while chunk := source.read(CHUNK):
                conn.sendall(chunk)
            if isinstance(conn, ssl.SSLSocket):
                conn.unwrap()
    ftp.voidresp()
    ftp.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

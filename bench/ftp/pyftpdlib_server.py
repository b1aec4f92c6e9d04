"""pyftpdlib's threaded FTP server as its documentation sets one up, for bench/ftp/run.sh.

    /usr/bin/python3 bench/ftp/pyftpdlib_server.py PORT USER HOME CERT KEY   (the password on stdin)

One user in the default authorizer (DummyAuthorizer: the password kept and compared in plain text),
with every permission; ThreadedFTPServer (a thread per session); TLS_FTPHandler, so that a client may
ask for AUTH TLS and PROT P (pyOpenSSL) or stay in plain FTP; everything else at its defaults
(sendfile for plain RETR, max_cons 512, no per-address limit, 300 s idle timeout, a log line per
command at INFO). Debian's python3-pyftpdlib and python3-openssl, so run with /usr/bin/python3.
"""
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import TLS_FTPHandler
from pyftpdlib.servers import ThreadedFTPServer

port, user, home, cert, key = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
password = sys.stdin.readline().rstrip("\n")

authorizer = DummyAuthorizer()
authorizer.add_user(user, password, home, perm="elradfmwMT")
handler = TLS_FTPHandler
handler.authorizer = authorizer
handler.certfile = cert
handler.keyfile = key
server = ThreadedFTPServer(("127.0.0.1", int(port)), handler)
server.serve_forever()

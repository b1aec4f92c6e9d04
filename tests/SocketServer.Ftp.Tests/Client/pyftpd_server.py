"""pyftpdlib as a peer for the FTP client's tests (run by PyftpdlibServer.cs with Debian's /usr/bin/python3).

argv: ROOT USER PASSWORD [--tls CERT KEY [--data-tls CERT KEY | --data-plain | --data-silent]] [--no-rest]
Prints "PORT <n>" once listening on 127.0.0.1 (port 0, chosen by the kernel), then, for every TLS data
connection that ends while the server reads it (uploads), "DATA-END close_notify" when the client sent a
TLS close_notify before closing, "DATA-END eof" when it only closed the socket. With --data-tls, data
connections show another certificate than the control connection's (no session can resume across the two);
with --data-plain they stay plain after PROT P (the file goes in the clear, no TLS), with --data-silent they
say nothing at all (no TLS, no bytes). Runs until killed.
"""
import sys

from pyftpdlib import handlers
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.servers import FTPServer

root, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
args = sys.argv[4:]
tls = "--tls" in args
authorizer = DummyAuthorizer()
authorizer.add_user(user, password, root, perm="elradfmwMT")

if tls:
    handler = handlers.TLS_FTPHandler
    cert, key = args[args.index("--tls") + 1], args[args.index("--tls") + 2]
    handler.certfile = cert
    handler.keyfile = key
    plain_debug = handlers.debug

    # pyftpdlib tells a close_notify from a bare EOF only in its debug messages, so they are watched here.
    def watching_debug(msg, inst=None):
        if isinstance(inst, handlers.DTPHandler):
            if msg.startswith("call: recv() -> shutdown(), err: zero-return"):
                print("DATA-END close_notify", flush=True)
            elif msg.startswith("call: recv(), err:") and "EOF" in msg:
                print("DATA-END eof", flush=True)
        plain_debug(msg, inst=inst)

    handlers.debug = watching_debug
    if "--data-tls" in args:
        from OpenSSL import SSL

        data_cert, data_key = args[args.index("--data-tls") + 1], args[args.index("--data-tls") + 2]
        data_context = SSL.Context(handler.ssl_protocol)
        data_context.use_certificate_chain_file(data_cert)
        data_context.use_privatekey_file(data_key)

        class OtherCertificateDTPHandler(handlers.TLS_DTPHandler):
            def secure_connection(self, ssl_context):
                super().secure_connection(data_context)

        handler.dtp_handler = OtherCertificateDTPHandler
    elif "--data-plain" in args or "--data-silent" in args:
        silent = "--data-silent" in args

        class BrokenDTPHandler(handlers.TLS_DTPHandler):
            def secure_connection(self, ssl_context):
                pass

            def use_sendfile(self):
                return not silent and super().use_sendfile()

            def push_with_producer(self, producer):
                if not silent:
                    super().push_with_producer(producer)

            def readable(self):
                # Silent: the client's ClientHello is left unread (read, pyftpdlib would reset the connection).
                return not silent and super().readable()

        handler.dtp_handler = BrokenDTPHandler
else:
    handler = handlers.FTPHandler

handler.authorizer = authorizer
handler.banner = "pyftpdlib test server ready."
if "--no-rest" in args:
    # A server without REST STREAM: uploads resume with APPE.
    handler.proto_cmds = {k: v for k, v in handler.proto_cmds.items() if k != "REST"}

server = FTPServer(("127.0.0.1", 0), handler)
print("PORT %d" % server.socket.getsockname()[1], flush=True)
server.serve_forever(handle_exit=True)

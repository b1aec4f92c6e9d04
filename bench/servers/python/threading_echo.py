# The course's server: Python's socketserver.ThreadingTCPServer with a StreamRequestHandler echo.
#   python3 threading_echo.py PORT      prints "serving PORT" once listening
import socketserver
import sys


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 4096


port = int(sys.argv[1]) if len(sys.argv) > 1 else 9999
with Server(("127.0.0.1", port), Echo) as server:
    print(f"serving {port}", flush=True)
    server.serve_forever()

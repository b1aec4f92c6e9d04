"""bench/ftp/run.sh's other client for a big transfer over FTPS: Python's ftplib (FTP_TLS), used for a server
that accepts AUTH TLS but fails with curl (pyftpdlib resets the data connection when the TLS handshake comes at
once on connect, as curl does it, rather than after the transfer command, as ftplib does).

    /usr/bin/python3 bench/ftp/ftplib_big.py PORT USER retr REMOTE
    /usr/bin/python3 bench/ftp/ftplib_big.py PORT USER stor REMOTE LOCAL      (the password in FTPLOAD_PASSWORD)

Prints "BYTES SECONDS CPU": the bytes moved, the seconds from the transfer command to its end (logging in is
not counted, as with curl), and the share of a core this client used meanwhile.
"""
import ftplib
import os
import ssl
import sys
import time

port, user, direction, remote = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
ftp = ftplib.FTP_TLS(context=context, timeout=600)
ftp.connect("127.0.0.1", port)
ftp.login(user, os.environ["FTPLOAD_PASSWORD"])
ftp.prot_p()
BLOCK = 256 * 1024
moved = [0]


def count(data):
    moved[0] += len(data)


start, cpu = time.monotonic(), time.process_time()
if direction == "retr":
    ftp.retrbinary("RETR " + remote, count, blocksize=BLOCK)
else:
    with open(sys.argv[5], "rb") as local:
        ftp.storbinary("STOR " + remote, local, blocksize=BLOCK)
    moved[0] = os.path.getsize(sys.argv[5])
elapsed = time.monotonic() - start
used = time.process_time() - cpu
ftp.quit()
print(moved[0], f"{elapsed:.3f}", f"{used / elapsed:.2f}")

#!/usr/bin/env python3
"""python3 -m http.server's file handler behind TLS, for the real-install tests.

    https_server.py DIR CERT KEY   -> prints "PORT\n" once listening on 127.0.0.1

The SSM install document only accepts https:// (and s3://) package URLs, so the test
serves dist/ over TLS with a throwaway self-signed certificate that curl is told to
trust through CURL_CA_BUNDLE.
"""

import functools
import http.server
import ssl
import sys


def main() -> None:
    directory, cert, key = sys.argv[1:4]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

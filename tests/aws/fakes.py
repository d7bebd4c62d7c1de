"""Local stand-ins the agent talks to in the tests, all on 127.0.0.1.

- `AwsProxy`: sits between the agent and moto_server. It records every request, checks its
  SigV4 signature with botocore's signer, validates BatchImportFindings bodies against the
  service model, keeps Security Hub's UpdatedAt rule (a version is applied only when its
  UpdatedAt is later than the stored one) to count what was really applied, and can inject
  faults: 503s, throttling, rejected findings, or stop listening altogether. It answers
  PutComplianceItems itself (moto does not implement it), after validating it against the
  ssm model.
- `FakeMetadata`: IMDSv2 (token required on every GET) and a container credentials endpoint.
- `Blackhole`: accepts connections and never answers (a firewalled IMDS).
"""

import http.client
import http.server
import json
import re
import urllib.parse
import datetime
import ipaddress
import socket
import ssl
import threading
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import awsmodel

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})"
)


def verify_sigv4(method, path, headers, body, keys):
    """None when the signature is what botocore computes for the same request, else why."""
    auth = headers.get("authorization", "")
    m = _AUTH.fullmatch(auth)
    if not m:
        return f"malformed Authorization header {auth!r}"
    akid, date, region, svc, signed, sig = m.groups()
    if akid not in keys:
        return f"unknown access key {akid}"
    secret, token = keys[akid]
    names = signed.split(";")
    for required in ("host", "x-amz-date"):
        if required not in names:
            return f"{required} is not signed"
    if token is not None and headers.get("x-amz-security-token") != token:
        return "session token missing or wrong"
    if not headers.get("x-amz-date", "").startswith(date):
        return "credential scope date differs from x-amz-date"
    missing = [n for n in names if n not in headers]
    if missing:
        return f"signed headers not sent: {missing}"
    req = AWSRequest(
        method=method,
        url=f"http://{headers['host']}{path}",
        headers={n: headers[n] for n in names},
        data=body,
    )
    req.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(akid, secret, token), svc, region)
    canonical = signer.canonical_request(req)
    want = signer.signature(signer.string_to_sign(req, canonical), req)
    if want != sig:
        return f"signature mismatch (botocore canonical request:\n{canonical})"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


class _Base:
    """A restartable HTTP server on a fixed port."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = None
        self.lock = threading.Lock()

    def handler(self):
        raise NotImplementedError

    def start(self, tls=None):
        """`tls`: (certificate file, key file) to serve https."""
        owner = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _do(self):
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n) if n else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, out_headers, out = owner.handle(self.command, self.path, headers, body)
                self.send_response(status)
                for k, v in out_headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_PUT = do_POST = do_PATCH = _do

        for _ in range(50):
            try:
                self._server = _Server(("127.0.0.1", self.port), H)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"cannot listen on {self.port}")
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
            self.url = f"https://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _json(status, obj, extra=None):
    h = {"content-type": "application/json"}
    h.update(extra or {})
    return status, h, json.dumps(obj).encode()


class AwsProxy(_Base):
    def __init__(self, upstream, keys):
        super().__init__()
        self.upstream = upstream
        self.keys = dict(keys)  # access key id -> (secret, token)
        self.requests = []  # {"op", "method", "path", "headers", "body", "status"}
        self.sig_errors = []
        self.model_errors = []
        self.faults = []  # (status, json body, headers), consumed one per request
        self.fail_all = None  # a fault answered to every request while set
        self.reject_ids = set()  # finding ids answered in FailedFindings
        self.applied = {}  # finding id -> [UpdatedAt applied, in order]
        self.stale = []  # (id, UpdatedAt) sent but not later than the stored version
        self.compliance = []  # PutComplianceItems bodies (answered here)
        self.issued = []  # access key ids STS handed out, in order
        self.skew_rejections = 0
        # BatchUpdateFindings (moto has none): finding id -> {"Status", "Note"}, as Security
        # Hub would keep them; tests may set an entry by hand (a person in the console).
        self.workflow = {}

    # -- helpers for tests
    def ops(self, op):
        return [r for r in self.requests if r["op"] == op]

    def imported(self):
        return [f for r in self.ops("BatchImportFindings") for f in r["body"]["Findings"]]

    def reset_counts(self):
        with self.lock:
            self.requests.clear()

    # -- the server
    def handle(self, method, path, headers, body):
        target = headers.get("x-amz-target", "")
        form = {}
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        op = target.split(".")[-1] if target else form.get("Action") or {
            "/findings/import": "BatchImportFindings",
            "/findings": "GetFindings",
            "/findings/batchupdate": "BatchUpdateFindings",
        }.get(path, path)
        try:
            parsed = json.loads(body) if body and not form else form
        except ValueError:
            parsed = None
        rec = {"op": op, "method": method, "path": path, "headers": headers, "body": parsed}
        with self.lock:
            self.requests.append(rec)
            if op == "AssumeRoleWithWebIdentity":
                why = "must be unsigned" if "authorization" in headers else None
            else:
                why = verify_sigv4(method, path, headers, body, self.keys)
            if why:
                self.sig_errors.append(f"{op}: {why}")
            fault = self.faults.pop(0) if self.faults else self.fail_all
            amz = headers.get("x-amz-date")
            skewed = False
            if amz and op != "AssumeRoleWithWebIdentity":
                t = datetime.datetime.strptime(amz, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
                skewed = abs((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()) > 300
                if skewed:
                    self.skew_rejections += 1
        if skewed:
            rec["status"] = 403
            return _json(403, {"__type": "InvalidSignatureException",
                               "message": "Signature expired: the request time is more than 5 minutes off"},
                         {"x-amzn-errortype": "InvalidSignatureException"})
        if fault:
            rec["status"] = fault[0]
            return _json(*fault)
        if op == "BatchImportFindings":
            return self._import(rec, parsed, headers, body)
        if op == "BatchUpdateFindings":
            return self._batch_update(rec, parsed)
        if op == "GetFindings" and (parsed or {}).get("Filters", {}).get("Id"):
            return self._get_by_id(rec, parsed, headers)
        if op == "PutComplianceItems":
            errs = awsmodel.validate(awsmodel.input_shape("ssm", "PutComplianceItems"), parsed)
            with self.lock:
                self.model_errors.extend(f"PutComplianceItems {e}" for e in errs)
                self.compliance.append(parsed)
            rec["status"] = 200
            return _json(200, {}, {"content-type": "application/x-amz-json-1.1"})
        status, h, out = self._forward(method, path, headers, body)
        rec["status"] = status
        if op.startswith("AssumeRole") and status == 200:
            text = out.decode()
            field = lambda tag: re.search(f"<{tag}>([^<]*)</{tag}>", text).group(1)
            with self.lock:
                self.keys[field("AccessKeyId")] = (field("SecretAccessKey"), field("SessionToken"))
                self.issued.append(field("AccessKeyId"))
        return status, h, out

    def _forward(self, method, path, headers, body):
        c = http.client.HTTPConnection("127.0.0.1", int(self.upstream.rsplit(":", 1)[1]), timeout=30)
        fwd = {k: v for k, v in headers.items() if k not in ("connection", "content-length")}
        c.request(method, path, body=body, headers=fwd)
        r = c.getresponse()
        out = r.read()
        h = {k: v for k, v in r.getheaders() if k.lower() in ("content-type", "x-amzn-errortype")}
        c.close()
        return r.status, h, out

    def _import(self, rec, parsed, headers, body):
        errs = awsmodel.validate_batch_import(parsed or {})
        findings = (parsed or {}).get("Findings", [])
        rejected = [f for f in findings if f.get("Id") in self.reject_ids]
        keep = [f for f in findings if f.get("Id") not in self.reject_ids]
        status, h, out = 200, {"content-type": "application/json"}, b""
        if keep:
            fwd_body = json.dumps({"Findings": keep}).encode()
            status, h, out = self._forward(rec["method"], rec["path"], headers, fwd_body)
        resp = json.loads(out) if out else {"FailedCount": 0, "SuccessCount": 0, "FailedFindings": []}
        with self.lock:
            self.model_errors.extend(errs)
            if status == 200:
                failed = {x["Id"] for x in resp.get("FailedFindings", [])}
                for f in keep:
                    if f["Id"] in failed:
                        continue
                    hist = self.applied.setdefault(f["Id"], [])
                    if hist and awsmodel.parse_time(f["UpdatedAt"]) <= awsmodel.parse_time(hist[-1]):
                        self.stale.append((f["Id"], f["UpdatedAt"]))
                    else:
                        hist.append(f["UpdatedAt"])
        for f in rejected:
            resp.setdefault("FailedFindings", []).append(
                {"Id": f["Id"], "ErrorCode": "InvalidInput", "ErrorMessage": "rejected by the test"}
            )
            resp["FailedCount"] = resp.get("FailedCount", 0) + 1
        rec["status"] = status
        return status, h, json.dumps(resp).encode()


    def _get_by_id(self, rec, parsed, headers):
        """GetFindings filtered by Id (validated against the model): moto ignores Filters and
        keeps no workflow, so the proxy pages through moto's findings, applies the Id filter
        and adds the workflow and note BatchUpdateFindings (or a test) set."""
        errs = awsmodel.validate(awsmodel.input_shape("securityhub", "GetFindings"), parsed)
        ids = {f["Value"] for f in parsed["Filters"]["Id"] if f.get("Comparison") == "EQUALS"}
        found, token = [], None
        while True:
            body = {"MaxResults": 100, **({"NextToken": token} if token else {})}
            status, h, out = self._forward("POST", "/findings", headers, json.dumps(body).encode())
            if status != 200:
                rec["status"] = status
                return status, h, out
            page = json.loads(out)
            found += [f for f in page.get("Findings", []) if f["Id"] in ids]
            token = page.get("NextToken")
            if not token:
                break
        with self.lock:
            self.model_errors.extend(f"GetFindings {e}" for e in errs)
            for f in found:
                w = self.workflow.get(f["Id"], {})
                f["Workflow"] = {"Status": w.get("Status", "NEW")}
                if "Note" in w:
                    f["Note"] = dict(w["Note"], UpdatedAt="2026-01-01T00:00:00Z")
        rec["status"] = 200
        return _json(200, {"Findings": found})

    def _batch_update(self, rec, parsed):
        """BatchUpdateFindings answered here (validated against the botocore model): a finding
        imported through this proxy is processed, any other one is FindingNotFound."""
        errs = awsmodel.validate(awsmodel.input_shape("securityhub", "BatchUpdateFindings"), parsed or {})
        http = awsmodel.service("securityhub").operation_model("BatchUpdateFindings").http
        if (rec["method"], rec["path"]) != (http["method"], http["requestUri"]):
            errs.append(f"{rec['method']} {rec['path']}: the model says {http['method']} {http['requestUri']}")
        done, missing = [], []
        with self.lock:
            self.model_errors.extend(f"BatchUpdateFindings {e}" for e in errs)
            for ident in (parsed or {}).get("FindingIdentifiers", []):
                if ident.get("Id") not in self.applied:
                    missing.append({"FindingIdentifier": ident, "ErrorCode": "FindingNotFound",
                                    "ErrorMessage": "finding not found"})
                    continue
                w = self.workflow.setdefault(ident["Id"], {"Status": "NEW"})
                if "Workflow" in parsed:
                    w["Status"] = parsed["Workflow"]["Status"]
                if "Note" in parsed:
                    w["Note"] = parsed["Note"]
                done.append(ident)
        rec["status"] = 200
        return _json(200, {"ProcessedFindings": done, "UnprocessedFindings": missing})


THROTTLE = (400, {"__type": "ThrottlingException", "message": "Rate exceeded"},
            {"x-amzn-errortype": "ThrottlingException"})
UNAVAILABLE = (503, {"message": "Service Unavailable"}, {})
TOO_MANY = (429, {"message": "TooManyRequestsException"}, {"x-amzn-errortype": "TooManyRequestsException"})


class FakeMetadata(_Base):
    """IMDSv2 plus a container credentials endpoint (`/creds`, needs the auth token)."""

    TOKEN = "imds-token-123"

    def __init__(self, doc, tags=None, role=None, container=None, container_auth=None,
                 expiration="2099-01-01T00:00:00Z"):
        super().__init__()
        self.expiration = expiration
        self.doc = doc
        self.tags = tags or {}
        self.role = role  # (name, access key, secret, token) or None
        self.container = container  # (access key, secret, token) or None
        self.container_auth = container_auth
        self.requests = []

    def handle(self, method, path, headers, body):
        with self.lock:
            self.requests.append((method, path, dict(headers)))
        text = lambda s, status=200: (status, {"content-type": "text/plain"}, s.encode())
        if path == "/creds":
            if self.container is None or headers.get("authorization") != self.container_auth:
                return text("denied", 403)
            ak, sk, tok = self.container
            return _json(200, {"AccessKeyId": ak, "SecretAccessKey": sk, "Token": tok,
                               "Expiration": "2099-01-01T00:00:00Z"})
        if path == "/latest/api/token":
            if method != "PUT" or "x-aws-ec2-metadata-token-ttl-seconds" not in headers:
                return text("bad token request", 400)
            return text(self.TOKEN)
        if headers.get("x-aws-ec2-metadata-token") != self.TOKEN:
            return text("Unauthorized", 401)
        if path == "/latest/dynamic/instance-identity/document":
            return _json(200, self.doc)
        if path == "/latest/meta-data/tags/instance":
            return text("\n".join(self.tags)) if self.tags else text("not found", 404)
        if path.startswith("/latest/meta-data/tags/instance/"):
            k = path.rsplit("/", 1)[1]
            return text(self.tags[k]) if k in self.tags else text("not found", 404)
        if path == "/latest/meta-data/iam/security-credentials/":
            return text(self.role[0]) if self.role else text("not found", 404)
        if self.role and path == f"/latest/meta-data/iam/security-credentials/{self.role[0]}":
            _, ak, sk, tok = self.role
            return _json(200, {"Code": "Success", "AccessKeyId": ak, "SecretAccessKey": sk,
                               "Token": tok, "Expiration": self.expiration})
        return text("not found", 404)


class Blackhole:
    """Accepts TCP connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.accepted = 0
        self.conns = []
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(c)

    def close(self):
        for c in self.conns:
            c.close()
        self.sock.close()


def make_ca(dir_):
    """A CA and a certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(name("jikimi test CA")).issuer_name(name("jikimi test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = [dir_ / "ca.pem", dir_ / "cert.pem", dir_ / "key.pem"]
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths

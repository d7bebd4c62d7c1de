"""Validation of requests against AWS's own service models (botocore's JSON models).

`validate(shape, value)` walks a botocore shape: required members, unknown members, enums,
string lengths and patterns, list and map sizes, numeric ranges. botocore itself only checks
types and required members on the client side; this also applies the constraints the model
declares, so a request that passes here is one the service's own validation accepts.

`asff_limits(finding)` adds the ASFF limits the Security Hub user guide documents but the
model does not declare (Title 256, Description 1024, ...).
"""

import datetime
import json
import re

import botocore.session

_session = botocore.session.get_session()
_models = {}


def service(name):
    if name not in _models:
        _models[name] = _session.get_service_model(name)
    return _models[name]


def input_shape(service_name, operation):
    return service(service_name).operation_model(operation).input_shape


def validate(shape, value, path="$"):
    errors = []
    _check(shape, value, path, errors)
    return errors


def _bounds(md, n, what, path, errors):
    if "min" in md and n < md["min"]:
        errors.append(f"{path}: {what} {n} < min {md['min']}")
    if "max" in md and n > md["max"]:
        errors.append(f"{path}: {what} {n} > max {md['max']}")


def _check(shape, value, path, errors):
    t = shape.type_name
    md = shape.metadata
    if md.get("document"):
        return
    if t == "structure":
        if not isinstance(value, dict):
            errors.append(f"{path}: expected an object, got {type(value).__name__}")
            return
        for name in shape.required_members:
            if name not in value:
                errors.append(f"{path}: missing required member {name}")
        for k, v in value.items():
            member = shape.members.get(k)
            if member is None:
                errors.append(f"{path}: unknown member {k}")
                continue
            _check(member, v, f"{path}.{k}", errors)
        if md.get("union") and len(value) != 1:
            errors.append(f"{path}: a union needs exactly one member")
    elif t == "list":
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list")
            return
        _bounds(md, len(value), "length", path, errors)
        for i, x in enumerate(value):
            _check(shape.member, x, f"{path}[{i}]", errors)
    elif t == "map":
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a map")
            return
        _bounds(md, len(value), "entries", path, errors)
        for k, v in value.items():
            _check(shape.key, k, f"{path} key {k!r}", errors)
            _check(shape.value, v, f"{path}[{k!r}]", errors)
    elif t == "string":
        if not isinstance(value, str):
            errors.append(f"{path}: expected a string, got {type(value).__name__}")
            return
        if shape.enum and value not in shape.enum:
            errors.append(f"{path}: {value!r} is not one of {shape.enum}")
        _bounds(md, len(value), "length", path, errors)
        pattern = md.get("pattern")
        if pattern is not None:
            # The model's regexes are Java-flavoured; all of these are valid Python too.
            # No DOTALL: `.` does not match a newline, as in Java.
            if re.fullmatch(pattern, value) is None:
                errors.append(f"{path}: {value[:60]!r} does not match /{pattern}/")
    elif t in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"{path}: expected an integer")
            return
        _bounds(md, value, "value", path, errors)
    elif t in ("double", "float"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            errors.append(f"{path}: expected a number")
    elif t == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{path}: expected a boolean")
    elif t == "timestamp":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return
        if not isinstance(value, str) or parse_time(value) is None:
            errors.append(f"{path}: {value!r} is not a timestamp")
    elif t == "blob":
        if not isinstance(value, (str, bytes)):
            errors.append(f"{path}: expected a blob")
    else:
        errors.append(f"{path}: unhandled shape type {t}")


def parse_time(s):
    try:
        return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


# ---------------------------------------------------------------- ASFF

ASFF_NAMESPACES = {
    "Software and Configuration Checks",
    "TTPs",
    "Effects",
    "Unusual Behaviors",
    "Sensitive Data Identifications",
}
_PRODUCT_ARN = re.compile(
    r"arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):securityhub:([a-z0-9-]+):(\d{12}):"
    r"product/(\d{12})/default"
)


def asff_limits(f):
    """The documented ASFF limits and rules the model leaves out."""
    errors = []
    fid = f.get("Id", "?")

    def err(msg):
        errors.append(f"{fid}: {msg}")

    def max_len(path, value, n):
        if isinstance(value, str) and len(value) > n:
            err(f"{path} has {len(value)} characters (max {n})")

    size = len(json.dumps(f, ensure_ascii=False).encode())
    if size > 240 * 1024:
        err(f"finding is {size} bytes (max 240 KB)")
    if f.get("SchemaVersion") != "2018-10-08":
        err("SchemaVersion is not 2018-10-08")
    max_len("Id", f.get("Id"), 512)
    max_len("GeneratorId", f.get("GeneratorId"), 512)
    max_len("Title", f.get("Title"), 256)
    max_len("Description", f.get("Description"), 1024)
    max_len(
        "Remediation.Recommendation.Text",
        f.get("Remediation", {}).get("Recommendation", {}).get("Text"),
        512,
    )
    m = _PRODUCT_ARN.fullmatch(f.get("ProductArn", ""))
    if not m:
        err(f"ProductArn {f.get('ProductArn')!r} is not a default product ARN")
    elif not (m.group(3) == m.group(4) == f.get("AwsAccountId")):
        err("ProductArn account differs from AwsAccountId")
    for key in ("Types",):
        types = f.get(key) or f.get("FindingProviderFields", {}).get(key)
        if not types:
            err("no Types (nor FindingProviderFields.Types)")
    for path, types in (
        ("Types", f.get("Types", [])),
        ("FindingProviderFields.Types", f.get("FindingProviderFields", {}).get("Types", [])),
    ):
        if len(types) > 50:
            err(f"{path}: more than 50")
        for t in types:
            parts = t.split("/")
            if not 1 <= len(parts) <= 3 or parts[0] not in ASFF_NAMESPACES:
                err(f"{path}: {t!r} is not namespace/category/classifier")
    label = f.get("FindingProviderFields", {}).get("Severity", {}).get("Label") or f.get(
        "Severity", {}
    ).get("Label")
    if not label:
        err("no Severity.Label")
    pf = f.get("ProductFields", {})
    if len(pf) > 50:
        err(f"ProductFields has {len(pf)} pairs (max 50)")
    for k, v in pf.items():
        max_len(f"ProductFields key {k[:30]}", k, 128)
        max_len(f"ProductFields[{k}]", v, 2048)
        if k.startswith("aws/"):
            err(f"ProductFields key {k} uses the reserved aws/ prefix")
    rr = f.get("Compliance", {}).get("RelatedRequirements", [])
    if len(rr) > 32:
        err(f"RelatedRequirements has {len(rr)} (max 32)")
    res = f.get("Resources", [])
    if not 1 <= len(res) <= 32:
        err(f"Resources has {len(res)} (1..32)")
    created, updated = parse_time(f.get("CreatedAt", "")), parse_time(f.get("UpdatedAt", ""))
    if created is None or updated is None:
        err("CreatedAt/UpdatedAt are not RFC 3339")
    elif created > updated:
        err("CreatedAt is later than UpdatedAt")
    return errors


def validate_batch_import(body):
    """Every error of one BatchImportFindings request body."""
    errors = validate(input_shape("securityhub", "BatchImportFindings"), body)
    size = len(json.dumps(body).encode())
    if size > 6 * 1024 * 1024:
        errors.append(f"request is {size} bytes (max 6 MB)")
    for f in body.get("Findings", []):
        errors.extend(asff_limits(f))
    return errors


def validate_findings(findings):
    """A findings array as `--format asff` prints it: each one as a request member."""
    shape = service("securityhub").shape_for("AwsSecurityFinding")
    errors = []
    for i, f in enumerate(findings):
        errors.extend(validate(shape, f, f"$[{i}]"))
        errors.extend(asff_limits(f))
    return errors

"""The partition table the agent checks in (agent/src/aws/partitions.json), projected from
botocore's `partitions.json`: per partition its id, region regex, explicit regions and
outputs (DNS suffixes, FIPS and dual-stack support). `python3 tests/aws/partitions.py`
(with botocore importable, e.g. the tests/aws venv) rewrites the file;
test_partitions.py fails when it differs from the installed botocore."""

import json
import sys
from pathlib import Path

TABLE = Path(__file__).resolve().parents[2] / "agent/src/aws/partitions.json"


def project():
    import botocore

    src = Path(botocore.__file__).parent / "data/partitions.json"
    data = json.loads(src.read_text())
    out = []
    for p in data["partitions"]:
        o = p["outputs"]
        out.append({
            "id": p["id"],
            "regionRegex": p["regionRegex"],
            "regions": sorted(p["regions"]),
            "dnsSuffix": o["dnsSuffix"],
            "dualStackDnsSuffix": o["dualStackDnsSuffix"],
            "supportsFIPS": o["supportsFIPS"],
            "supportsDualStack": o["supportsDualStack"],
            "implicitGlobalRegion": o["implicitGlobalRegion"],
        })
    return {"source": f"botocore {botocore.__version__} data/partitions.json", "partitions": out}


def render(table):
    return json.dumps(table, indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    TABLE.write_text(render(project()))
    print(f"wrote {TABLE}", file=sys.stderr)

#!/usr/bin/env python3
"""Generate the SSM Command documents in ssm-documents/ from their sources in src/.

Each document is src/NAME.json (everything but the script) plus src/NAME.sh (the script,
one runCommand line per line). In the script, `@PATTERN:param@` becomes that parameter's
allowedPattern, so the script re-checks each value with exactly the pattern SSM applied.

    python3 ssm-documents/generate.py           # write the documents
    python3 ssm-documents/generate.py --check   # fail if a committed document is stale
"""

import json
import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
SRC = HERE / "src"
PLACEHOLDER = re.compile(r"@PATTERN:([A-Za-z0-9_]+)@")


def build(meta_path: pathlib.Path) -> str:
    meta = json.loads(meta_path.read_text())
    script = meta_path.with_suffix(".sh").read_text()
    params = meta["parameters"]

    def pattern(m: re.Match) -> str:
        name = m.group(1)
        pat = params.get(name, {}).get("allowedPattern")
        if pat is None:
            sys.exit(f"{meta_path.name}: @PATTERN:{name}@ names no parameter with an allowedPattern")
        if "'" in pat:
            sys.exit(f"{meta_path.name}: the pattern of {name} has a single quote")
        return pat

    script = PLACEHOLDER.sub(pattern, script)
    lines = script.rstrip("\n").split("\n")
    for step in meta["mainSteps"]:
        if step["inputs"].get("runCommand") == "@SCRIPT@":
            step["inputs"]["runCommand"] = lines
    return json.dumps(meta, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    for meta_path in sorted(SRC.glob("*.json")):
        out = HERE / meta_path.name
        text = build(meta_path)
        if check:
            if not out.exists() or out.read_text() != text:
                stale.append(out.name)
        else:
            out.write_text(text)
            print(f"wrote {out.relative_to(HERE.parent)}")
    if stale:
        print("stale (run python3 ssm-documents/generate.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

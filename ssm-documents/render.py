#!/usr/bin/env python3
"""Render an SSM Command document's shell script the way SSM Run Command would.

Every parameter is validated (allowedValues, or allowedPattern matched against the whole
value), defaults fill in the parameters not given, and each `{{ name }}` in the runCommand
lines is replaced by its value. The result is what SSM Agent would run.

    python3 ssm-documents/render.py DOCUMENT.json [name=value ...] > script.sh

As a module: render(doc, values, validate=True) -> str; validate_value(spec, value) -> str|None.
"""

import json
import re
import sys

PARAM_REF = re.compile(r"\{\{\s*([A-Za-z0-9_.:/-]+)\s*\}\}")


class ParameterError(ValueError):
    pass


def validate_value(spec: dict, value: str):
    """Return None when SSM would accept value for a parameter declared as spec, else why not."""
    if "allowedValues" in spec and value not in spec["allowedValues"]:
        return f"not one of {spec['allowedValues']}"
    pat = spec.get("allowedPattern")
    if pat is not None and re.fullmatch(pat, value) is None:
        return f"does not match {pat}"
    return None


def parameter_values(doc: dict, given: dict, validate: bool = True) -> dict:
    params = doc.get("parameters", {})
    unknown = sorted(set(given) - set(params))
    if unknown:
        raise ParameterError(f"undeclared parameters: {', '.join(unknown)}")
    values = {}
    for name, spec in params.items():
        if name in given:
            value = given[name]
        elif "default" in spec:
            value = spec["default"]
        else:
            raise ParameterError(f"parameter {name} is required")
        if validate:
            why = validate_value(spec, value)
            if why:
                raise ParameterError(f"parameter {name}={value!r} rejected: {why}")
        values[name] = value
    return values


def render(doc: dict, given: dict, validate: bool = True, step: int = 0) -> str:
    values = parameter_values(doc, given, validate)
    lines = doc["mainSteps"][step]["inputs"]["runCommand"]

    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in values:
            raise ParameterError(f"{{{{ {name} }}}} is not a declared parameter")
        return values[name]

    return "\n".join(PARAM_REF.sub(sub, line) for line in lines) + "\n"


def main(argv) -> int:
    if len(argv) < 1 or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    with open(argv[0]) as f:
        doc = json.load(f)
    given = {}
    for arg in argv[1:]:
        name, sep, value = arg.partition("=")
        if not sep:
            print(f"render.py: expected name=value, got {arg!r}", file=sys.stderr)
            return 2
        given[name] = value
    try:
        sys.stdout.write(render(doc, given))
    except ParameterError as e:
        print(f"render.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

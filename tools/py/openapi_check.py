"""Validates an OpenAPI 3.1 document with openapi-spec-validator (the contract test runs it on
the admin API's document before schemathesis does).

usage: openapi_check.py FILE
prints `ok: N operations, M schemas`; exits 1 with the validator's errors otherwise."""

import json
import sys

from openapi_spec_validator import OpenAPIV31SpecValidator

with open(sys.argv[1], encoding="utf-8") as f:
    spec = json.load(f)
if spec.get("openapi") != "3.1.0":
    sys.exit(f"not an OpenAPI 3.1.0 document: openapi = {spec.get('openapi')!r}")
errors = list(OpenAPIV31SpecValidator(spec).iter_errors())
for e in errors:
    where = "/".join(str(p) for p in e.absolute_path)
    print(f"{where}: {e.message}", file=sys.stderr)
if errors:
    sys.exit(f"{len(errors)} problem(s)")
operations = sum(
    1
    for item in spec["paths"].values()
    for method in item
    if method in ("get", "put", "post", "delete", "patch", "head", "options", "trace")
)
print(f"ok: {operations} operations, {len(spec['components']['schemas'])} schemas")

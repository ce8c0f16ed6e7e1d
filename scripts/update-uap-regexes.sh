#!/usr/bin/env bash
# Updates the vendored User-Agent parser rules from the npm package uap-core (ua-parser/uap-core,
# maintained, Apache-2.0): its regexes.yaml, User-Agent family and OS sections (the device
# section is not used: its cost, 60 ms of regex compilation at start, buys nothing the scoring
# reads).
#
#   scripts/update-uap-regexes.sh [VERSION]      # default: the latest release
#
# Writes shared/data/useragents/uap-regexes.json ({"package", "version", "license", "source",
# "user_agent_parsers", "os_parsers"}, the YAML's entries unchanged) and the package's LICENSE
# beside it; review the diff, run the tests (the quality report's browser and crawler figures),
# commit. Needs npm and the project's Python environment (PyYAML; scripts/setup.sh), not the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${1:-latest}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "uap-core@$VERSION" >/dev/null && tar xzf uap-core-*.tgz)
.venv/bin/python - "$work/package" > shared/data/useragents/uap-regexes.json <<'PY'
import json, sys, yaml
root = sys.argv[1]
pkg = json.load(open(f"{root}/package.json"))
rules = yaml.safe_load(open(f"{root}/regexes.yaml"))
out = {
    "package": "uap-core",
    "version": pkg["version"],
    "license": pkg.get("license", "Apache-2.0"),
    "source": "https://www.npmjs.com/package/uap-core (https://github.com/ua-parser/uap-core), regexes.yaml",
    "user_agent_parsers": rules["user_agent_parsers"],
    "os_parsers": rules["os_parsers"],
}
json.dump(out, sys.stdout, indent=0)
sys.stdout.write("\n")
PY
cp "$work/package/LICENSE" shared/data/useragents/uap-core-LICENSE
.venv/bin/python -c 'import json; d = json.load(open("shared/data/useragents/uap-regexes.json")); print("uap-core", d["version"] + ":", len(d["user_agent_parsers"]), "family and", len(d["os_parsers"]), "OS rules")'

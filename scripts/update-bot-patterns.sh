#!/usr/bin/env bash
# Updates the vendored crawler User-Agent patterns from the npm package isbot (omrilotan/isbot,
# maintained, Unlicense): its `list` of case-insensitive regular-expression sources.
#
#   scripts/update-bot-patterns.sh [VERSION]      # default: the latest release
#
# Writes shared/data/useragents/isbot-patterns.json ({"package", "version", "license",
# "patterns"}) and the package's LICENSE beside it; review the diff, run the tests (the quality
# report's crawler and browser figures), commit. Needs node and npm (not the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${1:-latest}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "isbot@$VERSION" >/dev/null && tar xzf isbot-*.tgz)
node -e '
const pkg = require(process.argv[1] + "/package/package.json");
const { list } = require(process.argv[1] + "/package/index.js");
process.stdout.write(JSON.stringify({package: "isbot", version: pkg.version, license: pkg.license,
  source: "https://www.npmjs.com/package/isbot (" + pkg.repository.url + "), the exported list", patterns: list}, null, 1) + "\n");
' "$work" > shared/data/useragents/isbot-patterns.json
cp "$work/package/LICENSE" shared/data/useragents/isbot-LICENSE
echo "isbot $(node -e 'console.log(require(process.argv[1]).version)' "$work/package/package.json"): $(node -e 'console.log(require(process.argv[1]).patterns.length)' "$PWD/shared/data/useragents/isbot-patterns.json") patterns"

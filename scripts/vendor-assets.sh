#!/usr/bin/env bash
# Fetch the web workbench's browser assets from the npm registry into tierkit/web/static/vendor,
# checking each package tarball against the integrity recorded in assets.json (versions and
# licences live there too). The files are committed, so installs and CI never reach a network;
# run this only to upgrade an asset (change its version and integrity in assets.json first).
set -euo pipefail
cd "$(dirname "$0")/.."
vendor=tierkit/web/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$vendor/assets.json" "$work" <<'PY'
import base64, hashlib, json, pathlib, subprocess, sys, tarfile
record, work = json.loads(pathlib.Path(sys.argv[1]).read_text()), pathlib.Path(sys.argv[2])
vendor = pathlib.Path(sys.argv[1]).parent
for name, asset in record.items():
    subprocess.run(["npm", "pack", f"{name}@{asset['version']}", "--pack-destination", str(work)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tarball = work / f"{name}-{asset['version']}.tgz"
    algo, _, expected = asset["integrity"].partition("-")
    got = base64.b64encode(hashlib.new(algo, tarball.read_bytes()).digest()).decode()
    if got != expected:
        sys.exit(f"{tarball.name}: integrity {algo}-{got} is not the recorded {asset['integrity']}")
    with tarfile.open(tarball) as tar:
        for target, source in asset["files"].items():
            data = tar.extractfile(source["from"]).read()
            if "sha256" in source and hashlib.sha256(data).hexdigest() != source["sha256"]:
                sys.exit(f"{source['from']}: sha256 differs from assets.json")
            out = vendor / target
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
            print(f"{out} ({len(data):,} bytes) from {name}@{asset['version']}")
PY

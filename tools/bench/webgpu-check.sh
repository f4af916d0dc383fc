#!/usr/bin/env bash
# The webgpu checks that need a GPU, for a machine that has one with a driver Dawn supports (Vulkan
# on Linux, Metal on macOS, D3D12 on Windows). From the repository root, after `npm ci`:
#   tools/bench/webgpu-check.sh
# 1. the webgpu parity tests against cpu (packages/core/src/backend/webgpu.test.ts): this script
#    fails if they fail or skip (they skip where Dawn finds no adapter, saying why);
# 2. `gbp bench` forward-pass latency of the tiny and small presets on webgpu, then on wasm;
# 3. `node tools/bench/throughput.mjs --backend webgpu --sizes tiny,small` (training throughput).
#    Expected to fail until gbp's trainer reads tensors asynchronously: webgpu cannot read
#    synchronously on Node (the error says so); its exit status is this script's.
set -euo pipefail
cd "$(dirname "$0")/../.."
export NX_DAEMON=false NX_SKIP_NX_CACHE=true

echo "== build"
npx nx run-many -t build -p @gbp/core @gbp/cli >/dev/null

echo "== Dawn's adapter"
node --input-type=module -e "
import { probeWebgpu } from '@gbp/core/internal';
const p = await probeWebgpu({ explain: true });
console.log(p.ok ? 'adapter: ' + p.name + (p.software ? ' (software)' : '') : 'no adapter: ' + p.why);
" || true

echo "== parity tests (webgpu vs cpu)"
report="$(mktemp -d)/webgpu-vitest.json"
status=0
(cd packages/core && npx vitest run src/backend/webgpu.test.ts --reporter=default --reporter=json --outputFile.json="$report") || status=$?
# The parity test must have run and passed: a skip (no adapter) is a failure here.
node --input-type=module -e "
import { readFileSync } from 'node:fs';
const report = JSON.parse(readFileSync(process.argv[1], 'utf8'));
const parity = report.testResults.flatMap((f) => f.assertionResults).filter((t) => t.ancestorTitles.includes('webgpu and cpu agree'));
if (parity.length === 0) { console.error('webgpu-check: FAILED: the parity tests were not found in ' + process.argv[1]); process.exit(1); }
for (const t of parity) console.log(t.status + ': ' + t.title);
const bad = parity.filter((t) => t.status !== 'passed');
if (bad.length > 0) { console.error('webgpu-check: FAILED: parity tests ' + bad.map((t) => t.status).join(', ') + ' (skipped means Dawn found no adapter: see the warning above)'); process.exit(1); }
" "$report"
if [ "$status" -ne 0 ]; then echo "webgpu-check: FAILED: vitest exited $status" >&2; exit "$status"; fi

# A command that finishes its work but does not exit (the webgpu package warns that a live Dawn
# instance can keep Node running) is reported as such instead of hanging this script.
run() {
  local rc=0
  timeout 900 "$@" || rc=$?
  if [ "$rc" -eq 124 ]; then echo "webgpu-check: '$*' did not finish within 900 s (if its output is complete, Node did not exit: Dawn kept it alive)" >&2; fi
  return "$rc"
}

echo "== does a process that used webgpu exit?"
run node --input-type=module -e "
import { initBackend, tf } from '@gbp/core/internal';
const info = await initBackend('webgpu');
const x = tf.matMul(tf.ones([64, 64]), tf.ones([64, 64]));
console.log(info.reason + ': 64x64 matmul gives ' + (await x.data())[0] + ' (expected 64); exiting');
"

echo "== gbp bench (forward passes): webgpu, then wasm"
for backend in webgpu wasm; do
  run node packages/cli/dist/bin.js bench tiny small --batch 1,8 --seq 128 --repeats 5 --warmup 2 --backend "$backend"
done

echo "== training throughput on webgpu"
run node tools/bench/throughput.mjs --backend webgpu --sizes tiny,small

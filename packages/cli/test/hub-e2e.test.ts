/**
 * The Hub path end to end, as a user with Hub access runs it (`gbp run pipelines/finetune-prune.yaml
 * --from org/name`), against a loopback stand-in for huggingface.co serving the reference checkpoint:
 * HF_ENDPOINT and HF_HUB_CACHE reach the worker processes, the model lands in the Hugging Face cache
 * layout, both stages and the export run, and a later command works offline from the cache.
 * Skips without the reference checkpoint, the GLUE data or the build.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFERENCE_MODEL_DIR } from '@gbp/core/testing';
import { startFakeHub, type FakeHub } from '../../core/src/model/__fixtures__/fake-hub.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = resolve(pkg, '../..');
const bin = join(pkg, 'dist', 'bin.js');
const dataDir = process.env.GBP_DATA_DIR ?? resolve(repoRoot, '../shared/data/glue');
const skip = !existsSync(join(REFERENCE_MODEL_DIR, 'model.safetensors'))
  ? `no reference checkpoint at ${REFERENCE_MODEL_DIR}`
  : !existsSync(join(dataDir, 'sst2', 'train.jsonl'))
    ? `no GLUE data at ${dataDir}`
    : !existsSync(bin)
      ? `${bin} is not built (npm run build -w @gbp/cli)`
      : '';
if (skip) console.warn(`hub e2e test skipped: ${skip}`);

const dir = mkdtempSync(join(tmpdir(), 'gbp-hub-e2e-'));
const cache = join(dir, 'hf-cache');
let hub: FakeHub;
beforeAll(async () => {
  if (skip) return;
  const file = (name: string) => new Uint8Array(readFileSync(join(REFERENCE_MODEL_DIR, name)));
  hub = await startFakeHub([
    { id: 'org/bert-micro', refs: { main: 'c0ffee'.padEnd(40, '0') }, files: { 'config.json': file('config.json'), 'model.safetensors': file('model.safetensors'), 'vocab.txt': file('vocab.txt') } },
  ]);
});
afterAll(async () => {
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the built gbp without blocking this process (the stand-in Hub answers from it). */
function gbp(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot, env: { ...process.env, CI: '1', HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cache, GBP_DATA_DIR: dataDir, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

describe.skipIf(Boolean(skip))('a Hub model through gbp run --from (loopback Hub)', () => {
  it('fine-tunes, prunes with distillation and exports it; then works offline from the cache', async () => {
    const out = join(dir, 'results');
    const run = await gbp(['run', 'pipelines/finetune-prune.yaml', '--from', 'org/bert-micro', '--output', out, '--plain']);
    expect(run.stderr + run.stdout).not.toMatch(/\bfailed\b/);
    expect(run.status).toBe(0);
    // The Hugging Face cache layout, shared with Python's huggingface_hub.
    const snapshot = join(cache, 'models--org--bert-micro', 'snapshots', 'c0ffee'.padEnd(40, '0'));
    expect(readdirSync(snapshot).sort()).toEqual(['config.json', 'model.safetensors', 'vocab.txt']);
    expect(readFileSync(join(cache, 'models--org--bert-micro', 'refs', 'main'), 'utf8')).toBe('c0ffee'.padEnd(40, '0'));
    // The weights were fetched once, though two jobs read the model: the second job only checked the revision.
    expect(hub.requests.filter((r) => r.path.endsWith('/model.safetensors')).length).toBe(1);
    expect(hub.requests.filter((r) => r.path === '/api/models/org/bert-micro/revision/main').length).toBe(2);
    const events = readFileSync(join(out, 'finetune-prune', 'results_baseline_sst2_finetune', 'events.ndjson'), 'utf8');
    expect(events).toContain(`model from org/bert-micro (hub: ${snapshot})`);
    const exported = join(out, 'finetune-prune', 'export_huggingface', 'movement_sst2_pruned');
    expect(readdirSync(exported).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt']);
    expect(JSON.parse(readFileSync(join(exported, 'config.json'), 'utf8'))).toMatchObject({ model_type: 'bert', architectures: ['BertForSequenceClassification'] });

    const before = hub.requests.length;
    const info = await gbp(['info', '--from', 'org/bert-micro'], { HF_HUB_OFFLINE: '1' });
    expect(info.status).toBe(0);
    expect(info.stdout).toMatch(/org\/bert-micro\s+2\s+64\s+4\s+128\s+1036\s+64\s+0\.1\s+0\.1\s+141,890/);
    expect(hub.requests.length).toBe(before);
  }, 300_000);
});

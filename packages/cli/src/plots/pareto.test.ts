import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURE_MAX_LEN, writeFixtureBench, writeFixtureJob } from '../../test/result-fixtures.js';
import { paretoPoints, paretoSpec, readFinalists, writePareto } from './pareto.js';

const root = mkdtempSync(join(tmpdir(), 'gbp-pareto-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Adds `fields` to the spec in a fixture job's metadata (what runJob records). */
function setSpec(jobDir: string, fields: Record<string, unknown>): void {
  const meta = join(jobDir, 'metadata_baseline_20260101T000000Z.json');
  const metadata = JSON.parse(readFileSync(meta, 'utf8'));
  writeFileSync(meta, JSON.stringify({ ...metadata, spec: { ...metadata.spec, ...fields } }));
}

/** A pipeline folder as a search run leaves it: dense, a pruned job, a search job (finalists, no epochs) and a fine-tune of its model, all benched. */
function searchPipeline(name: string, candidates: string): string[] {
  const dir = join(root, name);
  const dense = writeFixtureJob(dir, { id: 'dense', method: 'baseline', sparsity: 0, accuracy: [0.8, 0.9] });
  const supernet = writeFixtureJob(dir, { id: 'supernet', method: 'baseline', sparsity: 0, accuracy: [0.8, 0.88] });
  setSpec(supernet, { supernet: { space: { heads: [2, 4] } } });
  const pruned = writeFixtureJob(dir, { id: 'movement_0.5', method: 'movement', sparsity: 0.5, accuracy: [0.8, 0.85], compaction: { params_after: 2e6, flops_per_token_after: 1e6, structures_removed: true } });
  const search = join(dir, 'results_search_speedup2');
  mkdirSync(join(search, 'search'), { recursive: true });
  writeFileSync(join(search, 'search', 'candidates.csv'), candidates);
  writeFileSync(join(search, 'search', 'latency_model.json'), JSON.stringify({ kind: 'linear-flops', batch: 8, seq: FIXTURE_MAX_LEN, threads: 1 }));
  const finetune = writeFixtureJob(dir, { id: 'finetune_speedup2', method: 'baseline', sparsity: 0, accuracy: [0.84, 0.87] });
  // Its metadata says where its model came from: the search job's folder.
  setSpec(finetune, { model: { from: search, max_len: FIXTURE_MAX_LEN } });
  writeFixtureBench(dir, [
    { job: 'dense', speedup: 1 },
    { job: 'supernet', speedup: 0.95 },
    { job: 'movement_0.5', speedup: 1.6 },
    { job: 'finetune_speedup2', speedup: 2 },
    // Another shape of the same job: the plot takes batch 8 x max_len.
    { job: 'movement_0.5', speedup: 3, seq: 16 },
  ]);
  return [dense, pruned, search, finetune, supernet];
}

// As core's search job writes it (search/report.ts): finalists have measured_ms, one is chosen.
const CANDIDATES = `arch,layers,heads,ffn,params,predicted_ms,measured_ms,fitness,generation,finalist,chosen
"L2-h4,4-f512,512",2,"4,4","512,512",4400000,98,,0.91,0,false,false
"L2-h2,2-f256,256",2,"2,2","256,256",3000000,52,55,0.86,1,true,false
L1-h4-f512,1,4,512,2500000,49,47.5,0.88,2,true,true
"L2-h2,4-f128,512",2,"2,4","128,512",3100000,51,50,0.83,3,true,false
`;

describe('pareto.png data', () => {
  it('plots each finalist (the chosen one marked) and every benched job with its final metric at batch 8 x max_len', () => {
    const dirs = searchPipeline('p1', CANDIDATES);
    const data = paretoPoints(dirs);
    expect(data.points).toEqual([
      { series: 'dense', kind: 'dense', label: 'dense', latency_ms: 100, metric: 0.9 },
      { series: 'movement_0.5', kind: 'pruned', label: 'movement_0.5', latency_ms: 62.5, metric: 0.85 },
      { series: 'search_speedup2 finalists', kind: 'finalist', label: 'L2-h2,2-f256,256', latency_ms: 55, metric: 0.86 },
      { series: 'search_speedup2 finalists', kind: 'chosen', label: 'L1-h4-f512', latency_ms: 47.5, metric: 0.88 },
      { series: 'search_speedup2 finalists', kind: 'finalist', label: 'L2-h2,4-f128,512', latency_ms: 50, metric: 0.83 },
      { series: 'finetune_speedup2', kind: 'fine-tuned', label: 'finetune_speedup2', latency_ms: 50, metric: 0.87 },
      { series: 'supernet', kind: 'supernet', label: 'supernet', latency_ms: 100 / 0.95, metric: 0.88 },
    ]);
    expect(data.metric).toBe('accuracy');
    expect(data.shapes).toEqual([`finalists: batch 8 x seq ${FIXTURE_MAX_LEN} (1 thread)`, `jobs (gbp run's bench): batch 8 x seq ${FIXTURE_MAX_LEN} (1 thread), wasm`]);
    expect(data.notes).toEqual([]);
    // Finalists timed at another shape than the jobs: said, so nobody reads one latency against the other.
    writeFileSync(join(dirs[2]!, 'search', 'latency_model.json'), JSON.stringify({ batch: 1, seq: 32, threads: 1 }));
    expect(paretoPoints(dirs).notes).toEqual([
      "pareto.png: the finalists and the jobs were timed at different shapes (finalists: batch 1 x seq 32 (1 thread); jobs (gbp run's bench): batch 8 x seq 64 (1 thread), wasm): compare latencies within each group",
    ]);
    const spec = paretoSpec(data, 'p1') as unknown as { title: { subtitle: string[] }; data: { values: { kind: string; size: number }[] } };
    expect(spec.title.subtitle).toEqual(['finalists: their fitness (accuracy with inherited weights); jobs: their final accuracy', ...data.shapes]);
    expect(spec.data.values.filter((v) => v.size > 90).map((v) => v.kind)).toEqual(['chosen']);
  });

  it('marks the fittest finalist when candidates.csv has no chosen column, and names a file without measured_ms', () => {
    const dirs = searchPipeline('p2', 'arch,measured_ms,fitness\n"L1-h2-f128",20,0.8\n"L1-h4-f256",30,0.82\n');
    expect(readFinalists(dirs[2]!).map((f) => [f.arch, f.chosen])).toEqual([['L1-h2-f128', false], ['L1-h4-f256', true]]);
    const bad = searchPipeline('p3', 'arch,predicted_ms,fitness\n"L1-h2-f128",20,0.8\n');
    expect(() => paretoPoints(bad)).toThrow(`${join(bad[2]!, 'search', 'candidates.csv')}: no measured_ms column in header 'arch,predicted_ms,fitness'`);
  });

  it('writes pareto.png only when a job searched', async () => {
    const dirs = searchPipeline('p4', CANDIDATES);
    expect(await writePareto(join(root, 'p4'), [dirs[0]!, dirs[1]!], 'p4')).toBeUndefined();
    const written = await writePareto(join(root, 'p4'), dirs, 'p4');
    expect(written?.png).toBe(join(root, 'p4', 'pareto.png'));
    expect(readFileSync(written!.png).subarray(1, 4).toString()).toBe('PNG');
    if (process.env.KEEP_PARETO) writeFileSync(process.env.KEEP_PARETO, readFileSync(written!.png));
  });
});

/**
 * The end of a finished job: its model compacted and written to `<job folder>/model/` (config,
 * weights, vocabulary, compaction.json), with the compacted logits checked against the masked
 * model's on evaluation examples.
 */
import { join } from 'node:path';
import type { LogLevel } from '../events.js';
import { makeBatches, type EncodedExample } from '../data/index.js';
import { compact, maxAbsLogitDiff, type GatedBert } from '../model/index.js';
import { InferenceModel } from '../model/inference.js';
import { writeModelFolder } from '../model/folder.js';
import type { CompactionReport } from '../model/compaction-report.js';

/** Examples the logit check runs on: enough to catch a wrong cut, few enough to take a moment. */
export const LOGIT_CHECK_EXAMPLES = 256;
const LOGIT_CHECK_BATCH = 32;

export interface JobModelInput {
  model: GatedBert;
  outputDir: string;
  task: string;
  /** vocab.txt text of the job's tokenizer. */
  vocab: string;
  /** Whether that tokenizer lowercases (tokenizer.lowercase). */
  lowercase: boolean;
  /** Evaluation examples; the first LOGIT_CHECK_EXAMPLES are used. */
  examples: readonly EncodedExample[];
  padId: number;
  log: (level: LogLevel, message: string) => void;
}

const millions = (n: number) => `${(n / 1e6).toFixed(2)}M`;
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Compacts the job's model, checks it and writes `<outputDir>/model/`; returns the folder and its report. */
export async function writeJobModel(input: JobModelInput): Promise<{ dir: string; report: CompactionReport }> {
  const { config, weights, counts } = compact(input.model);
  const compacted = InferenceModel.fromWeights(config, weights, input.task);
  const examples = input.examples.slice(0, LOGIT_CHECK_EXAMPLES);
  let diff: number;
  try {
    diff = maxAbsLogitDiff(input.model, compacted, makeBatches(examples, LOGIT_CHECK_BATCH, { padId: input.padId, groupByLength: true }));
  } finally {
    compacted.dispose();
  }
  const report: CompactionReport = { ...counts, max_abs_logit_diff: diff, logit_diff_examples: examples.length };
  const dir = join(input.outputDir, 'model');
  await writeModelFolder(dir, { config, task: input.task, weights, vocab: input.vocab, lowercase: input.lowercase, compaction: report });
  input.log(
    'info',
    `model: params ${millions(report.params_before)} → ${millions(report.params_after)}, heads kept ${sum(report.heads_kept)}/${sum(report.heads)}, ` +
      `neurons kept ${sum(report.neurons_kept)}/${sum(report.neurons)}, max |logit diff| ${diff.toExponential(1)} on ${examples.length} examples → ${dir}`,
  );
  // Said, not hidden: masked weights inside kept heads and neurons are zeros that cost as much as any weight.
  if (report.unstructured_sparsity_left > 0) {
    input.log(
      'info',
      `model: ${(100 * report.unstructured_sparsity_left).toFixed(1)}% of the kept gated weights are masked zeros inside kept heads and neurons; ` +
        'compaction cannot remove them (they buy no speed: prune with pruning.granularity structured for that)',
    );
  }
  return { dir, report };
}

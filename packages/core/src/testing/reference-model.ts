/**
 * The reference Hugging Face BERT for tests (../shared/models/bert-ref-micro beside the repository):
 * a small random-weight BERT in both checkpoint formats with the outputs of an independent PyTorch
 * BertForSequenceClassification. Tests that need it skip, saying so, when it is absent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the reference checkpoint is expected: GBP_REF_MODEL_DIR, else <repo>/../shared/models/bert-ref-micro. */
export const REFERENCE_MODEL_DIR = process.env.GBP_REF_MODEL_DIR ?? fileURLToPath(new URL('../../../../../shared/models/bert-ref-micro', import.meta.url));

/** Whether the reference checkpoint (with its expected outputs) is there. */
export const referenceModelPresent = (): boolean => existsSync(join(REFERENCE_MODEL_DIR, 'reference.json'));

/** One padded batch of reference.json and what BertForSequenceClassification gives for it. */
export interface ReferenceCase {
  input_ids: number[][];
  token_type_ids: number[][];
  attention_mask: number[][];
  /** [B, T, hidden], padding positions included. */
  last_hidden_state: number[][][];
  pooler_output: number[][];
  logits: number[][];
}

export interface ReferenceOutputs {
  texts: { single: string[]; pair: [string, string][] };
  cases: { single: ReferenceCase; pair: ReferenceCase };
}

/** reference.json of the reference checkpoint. */
export function readReferenceOutputs(dir: string = REFERENCE_MODEL_DIR): ReferenceOutputs {
  return JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as ReferenceOutputs;
}

/** `gbp infer --model M (--input FILE | --text T [--pair P])`: predictions of a model as JSONL, and metrics for labelled rows. */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { absoluteModelRef, DataError, initBackend, loadModel, openAtomicFile, readLines, tokenizerFromFile, type AtomicFile, type BackendName, type LoadedModel, type TaskName } from '@gbp/core';
import { helpText, INFER_FLAGS, parseFlags, UsageError } from '../args.js';
import { inferMetrics, metricsTask } from '../infer/infer-metrics.js';
import { readInferRows, rowTexts, type BadRow, type InferRow, type LabelKind } from '../infer/input-rows.js';
import { outputRow, predictedLabel } from '../infer/output-row.js';
import { predictRows } from '../infer/predict.js';
import { createPredictor } from '../infer/predictor.js';
import type { InferRuntime } from '../infer/runtimes.js';
import type { CommandIO } from './io.js';
import { EXIT } from './run.js';

export const INFER_USAGE = 'Usage: gbp infer --model M (--input FILE.jsonl | --text TEXT [--pair TEXT]) [--output FILE] [--pooled] [--batch N] [--task TASK] [--backend NAME] [--runtime tfjs|onnx] [--threads N]';

const INFER_INTRO = `Each input row is a JSON object with its text in GLUE's fields (sentence; sentence1, sentence2;
question, sentence; premise, hypothesis; question1, question2) or text (and text_pair). Output: each
row plus logits, label (the argmax class id, or the score of a one-output model) and with --pooled
pooler_output; a row's own label moves to input_label. Rows with a label are scored with the task's
metrics (printed to stderr, or to stdout with --output). Texts are cut at the model's max_len.
Exit codes: 0 success, 1 some rows were bad (reported by line; the others are written) or it failed,
2 invalid flags, model or input without a readable row (nothing ran), 130 stopped (an --output
file is not written).`;

export const DEFAULT_INFER_BATCH = 32;
/** Seconds between two progress lines. */
const PROGRESS_EVERY_S = 1;

export async function inferCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const { flags, positionals } = parseFlags(argv, INFER_FLAGS, 'gbp infer');
  if (flags.help) {
    io.stdout.write(helpText(INFER_USAGE, INFER_FLAGS, INFER_INTRO));
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`gbp infer: unexpected argument '${positionals[0]}'; give the model with --model M and the rows with --input FILE or --text TEXT`);
  if (flags.model === undefined) throw new UsageError('gbp infer: give the model with --model M (a model folder, a job results folder, a Hugging Face folder or a Hub id); see gbp infer -h');
  if ((flags.input === undefined) === (flags.text === undefined)) {
    throw new UsageError(`gbp infer: give ${flags.input === undefined ? 'either' : 'only one of'} --input FILE.jsonl or --text TEXT`);
  }
  if (flags.pair !== undefined && flags.text === undefined) throw new UsageError('gbp infer: --pair is the second segment of --text; give --text too');
  const inputFile = flags.input === undefined || flags.input === '-' ? undefined : resolve(io.cwd, flags.input);
  if (inputFile !== undefined && !isFile(inputFile)) {
    throw new UsageError(`gbp infer: --input ${flags.input}: ${existsSync(inputFile) ? 'a folder, not a file' : 'no such file'} (expected a JSONL file, one JSON object a line)`);
  }
  const outputFile = flags.output === undefined ? undefined : resolve(io.cwd, flags.output);
  if (outputFile !== undefined && existsSync(outputFile) && !isFile(outputFile)) throw new UsageError(`gbp infer: --output ${flags.output} is a folder; give a file name`);

  const say = (message: string) => io.stderr.write(`gbp infer: ${message}\n`);
  const loaded = await loadModelOrRefuse(flags.model, io.cwd, say);
  const tokenizer = await modelTokenizer(loaded);
  const { config } = loaded;
  const task = metricsTask(flags.task, loaded.task, config.num_labels, flags.model);
  if (loaded.freshClassifier) say(`${flags.model} has no trained classifier (a fresh one was made): its logits and labels mean nothing until it is fine-tuned`);

  const { rows, bad } = await inputRows(flags, inputFile, io, { numLabels: config.num_labels }, say);
  const backend = await initBackend((flags.backend ?? 'auto') as BackendName);
  const model = await createPredictor(loaded, (flags.runtime ?? 'tfjs') as InferRuntime, flags.threads, backend.name);
  const batchSize = flags.batch ?? DEFAULT_INFER_BATCH;
  say(`${rows.length} row${rows.length === 1 ? '' : 's'}, ${flags.model} (${loaded.kind}, ${config.num_labels} outputs, max_len ${config.max_len}), batch ${batchSize}, ${model.description}`);

  const controller = new AbortController();
  const detach = io.onSignals(() => controller.abort());
  let file: AtomicFile | undefined;
  let scored: Scored;
  try {
    file = outputFile === undefined ? undefined : await openAtomicFile(outputFile);
    const sink = file;
    const write = sink ? (text: string) => sink.write(text) : (text: string) => writeTo(io.stdout, text);
    const predictions = predictRows(model, tokenizer, rows, { batchSize, pooled: flags.pooled === true, onProgress: progressReporter(rows.length, say), signal: controller.signal });
    scored = await writePredictions(predictions, write);
    await file?.commit();
  } catch (error) {
    await file?.abort();
    if (controller.signal.aborted) {
      say(`stopped; ${file ? `${flags.output} not written` : 'the rows above were written'}`);
      return EXIT.aborted;
    }
    throw error;
  } finally {
    detach();
    model.dispose();
  }

  const report = file ? (line: string) => io.stdout.write(`${line}\n`) : say;
  if (file) report(`output: ${outputFile} (${rows.length} rows)`);
  if (scored.labels.length > 0) report(metricsLine(task, config.num_labels, scored, rows.length));
  if (bad.length > 0) {
    say(`${bad.length} bad row${bad.length === 1 ? '' : 's'} (${lineList(bad)}) left out; ${othersWritten(rows.length, file ? flags.output : undefined)}`);
    return EXIT.failed;
  }
  return EXIT.ok;
}

/** The rows of --text, or of --input (a file or stdin), each bad line reported; refuses an input without a good row. */
async function inputRows(
  flags: { text?: string; pair?: string; input?: string },
  inputFile: string | undefined,
  io: CommandIO,
  labels: LabelKind,
  say: (message: string) => void,
): Promise<{ rows: InferRow[]; bad: BadRow[] }> {
  if (flags.text !== undefined) {
    const fields = { text: flags.text, ...(flags.pair !== undefined && { text_pair: flags.pair }) };
    return { rows: [{ line: 1, fields, texts: rowTexts(fields, '--text') }], bad: [] };
  }
  const name = inputFile === undefined ? 'stdin' : flags.input!;
  // A file through core's line reader (BOM, CRLF, UTF-8 and line length checked, naming file:line).
  const lines = inputFile === undefined ? createInterface({ input: io.stdin, crlfDelay: Infinity }) : readLines(inputFile);
  let read: { rows: InferRow[]; bad: BadRow[] };
  try {
    read = await readInferRows(lines, name, labels);
  } catch (error) {
    if (error instanceof DataError) throw new UsageError(`gbp infer: ${error.message}`);
    throw error;
  }
  const { rows, bad } = read;
  for (const row of bad) say(row.message);
  // Nothing to predict: an --output file that is there stays as it is.
  if (rows.length === 0) throw new UsageError(`gbp infer: ${name} has no rows${bad.length > 0 ? ` that could be read (${bad.length} bad)` : ''}; nothing written`);
  return { rows, bad };
}

/** Predictions and gold labels of the labelled rows. */
type Scored = { predictions: number[]; labels: number[] };

/** Writes each chunk's output rows as JSONL, in input order; returns what the metrics need. */
async function writePredictions(chunks: ReturnType<typeof predictRows>, write: (text: string) => Promise<void>): Promise<Scored> {
  const scored: Scored = { predictions: [], labels: [] };
  for await (const chunk of chunks) {
    let text = '';
    chunk.rows.forEach((row, i) => {
      const prediction = chunk.predictions[i]!;
      text += `${JSON.stringify(outputRow(row, prediction))}\n`;
      if (row.label !== undefined) {
        scored.predictions.push(predictedLabel(prediction.logits));
        scored.labels.push(row.label);
      }
    });
    await write(text);
  }
  return scored;
}

/** Progress lines on stderr: rows done of all and rows/s, at most one a PROGRESS_EVERY_S, and the last. */
function progressReporter(total: number, say: (message: string) => void): (done: number) => void {
  const started = performance.now();
  let last = started;
  return (done) => {
    const now = performance.now();
    if (done < total && now - last < PROGRESS_EVERY_S * 1000) return;
    last = now;
    say(`${done}/${total} rows, ${(done / Math.max((now - started) / 1000, 1e-3)).toFixed(1)} rows/s`);
  };
}

/** "the other row was written", "the other 3 rows are in out.jsonl" */
function othersWritten(count: number, output: string | undefined): string {
  const rows = count === 1 ? 'row' : `${count} rows`;
  return `the other ${rows} ${output !== undefined ? `${count === 1 ? 'is' : 'are'} in ${output}` : count === 1 ? 'was written' : 'were written'}`;
}

/** "line 4", "lines 2, 4, 5" or the first ten and how many more. */
function lineList(bad: readonly BadRow[]): string {
  const SHOWN = 10;
  const lines = bad.slice(0, SHOWN).map((b) => b.line).join(', ');
  return `line${bad.length === 1 ? '' : 's'} ${lines}${bad.length > SHOWN ? ` and ${bad.length - SHOWN} more` : ''}`;
}

/** "metrics (sst2, 4 labelled rows): accuracy 0.7500" */
function metricsLine(task: TaskName | undefined, numLabels: number, scored: Scored, total: number): string {
  const metrics = inferMetrics(task, numLabels, scored.predictions, scored.labels);
  const values = Object.entries(metrics).map(([name, value]) => `${name} ${value.toFixed(4)}`);
  const labelled = scored.labels.length;
  const count = labelled < total ? `${labelled} of ${total} rows labelled` : `${labelled} labelled rows`;
  return `metrics (${task ?? (numLabels === 1 ? 'score' : 'classes')}, ${count}): ${values.join(', ')}`;
}

/** The model, or a UsageError with what the reference was taken for and what was expected (nothing has run). */
async function loadModelOrRefuse(ref: string, cwd: string, log: (message: string) => void): Promise<LoadedModel> {
  try {
    return await loadModel(absoluteModelRef(ref, cwd), { log });
  } catch (error) {
    throw new UsageError(`gbp infer: --model ${ref}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The tokenizer the model was trained with: its folder's vocab.txt or tokenizer.json. */
async function modelTokenizer(loaded: LoadedModel) {
  if (loaded.tokenizerPath === undefined) {
    throw new UsageError(`gbp infer: ${loaded.dir} has no tokenizer (vocab.txt or tokenizer.json); gbp infer needs the one the model was trained with`);
  }
  const tokenizer = await tokenizerFromFile(loaded.tokenizerPath, loaded.lowercase);
  if (tokenizer.vocabSize > loaded.config.vocab_size) {
    throw new UsageError(`gbp infer: ${loaded.tokenizerPath} has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${loaded.config.vocab_size}: not this model's tokenizer`);
  }
  return tokenizer;
}

const isFile = (path: string) => existsSync(path) && statSync(path).isFile();

/** Writes to a stream, waiting for it to drain when its buffer is full (a reader that went away ends the wait). */
function writeTo(stream: Writable, text: string): Promise<void> {
  return new Promise((done) => {
    if (stream.write(text) || stream.destroyed) return done();
    const finish = () => {
      stream.off('drain', finish);
      stream.off('close', finish);
      done();
    };
    stream.on('drain', finish);
    stream.on('close', finish);
  });
}

/** The gbp command: dispatches to a subcommand and maps errors to exit codes and messages. */
import { UsageError } from './args.js';
import { benchCommand } from './commands/bench.js';
import { compareCommand } from './commands/compare.js';
import { inferCommand } from './commands/infer.js';
import { exportCommand } from './commands/export.js';
import { infoCommand } from './commands/info.js';
import { processIO, type CommandIO } from './commands/io.js';
import { pluginsCommand } from './commands/plugins.js';
import { EXIT, runCommand } from './commands/run.js';
import { validateCommand } from './commands/validate.js';
import { workerCommand } from './commands/worker.js';
import { QueueUrlError } from './queue/redis-url.js';
import { QueueConnectError } from './queue/worker-queue.js';
import { DataCheckError } from './pipeline/data-check.js';
import { FileWriteError, ModelLoadError } from '@gbp/core';
import { PipelineError } from './pipeline/errors.js';
import { RunRefusedError } from './run/run-refused.js';

export const HELP = `gbp: train and prune gated BERT encoders from YAML pipelines

Usage:
  gbp run FILE [options]       run a pipeline (gbp run -h lists the flags)
  gbp validate FILE [options]  check a pipeline and list its jobs
  gbp compare DIR...           rebuild the comparison plot and summary from results
  gbp bench TARGET...          latency and throughput of presets and pruned models (gbp bench -h)
  gbp infer --model M ...      predictions of a model for JSONL rows or one text (gbp infer -h)
  gbp info [-m SIZE | --from M] model sizes or a pretrained model: layers, widths, parameter counts
  gbp export SOURCE [options]  a job's model as a Hugging Face folder for transformers (gbp export -h)
  gbp plugins [FILE]           pruners gbp can resolve, with their options
  gbp worker --queue URL       run jobs of queued sweeps taken from Redis (gbp worker -h)

Environment: GBP_EPOCHS (like -e), GBP_DATA_DIR (like --data-dir), GBP_QUEUE (like --queue), GBP_VERBOSE=1.
Exit codes: 0 success, 1 a job failed, 2 invalid input (nothing ran), 130 stopped.
`;

export async function main(argv: readonly string[], io: CommandIO = processIO()): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest, io);
      case 'validate':
        return await validateCommand(rest, io);
      case 'compare':
        return await compareCommand(rest, io);
      case 'bench':
        return await benchCommand(rest, io);
      case 'infer':
        return await inferCommand(rest, io);
      case 'info':
        return await infoCommand(rest, io);
      case 'export':
        return await exportCommand(rest, io);
      case 'plugins':
        return await pluginsCommand(rest, io);
      case 'worker':
        return await workerCommand(rest, io);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout.write(HELP);
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        throw new UsageError(`gbp: unknown command '${command}'; commands: run, validate, compare, bench, infer, info, export, plugins, worker`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof PipelineError || error instanceof DataCheckError || error instanceof RunRefusedError || error instanceof QueueUrlError || error instanceof QueueConnectError) {
      io.stderr.write(`${error.message}\n`);
      return EXIT.usage;
    }
    // A disk full, a folder not writable, a model that cannot be loaded: the message names the file; a stack adds nothing.
    if (error instanceof FileWriteError || error instanceof ModelLoadError) {
      io.stderr.write(`gbp: ${error.message}\n`);
      return EXIT.failed;
    }
    io.stderr.write(`gbp: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.failed;
  }
}

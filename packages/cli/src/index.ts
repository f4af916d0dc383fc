// Public API of @gbp/cli: the command, and the pipeline stages for programs that drive gbp.
export { main, HELP } from './cli.js';
export { processIO, type CommandIO } from './commands/io.js';
export { EXIT } from './commands/run.js';
export { UsageError, parseFlags, RUN_FLAGS } from './args.js';
export * from './pipeline/schema.js';
export { PipelineError, formatIssue, type PipelineIssue } from './pipeline/errors.js';
export { loadPipeline, type LoadedPipeline } from './pipeline/load.js';
export { resolvePipeline, type CliOverrides, type ResolvedPipeline, type ResolvedStage } from './pipeline/resolve.js';
export { planPipeline, jobFolder, type Plan, type PlannedJob, type ReportPlan } from './pipeline/plan.js';
export { runPlan, type RunPlanOptions, type RunOutcome } from './run/run-plan.js';
export { RunStore } from './run/store.js';
export type { JobView, JobStatus } from './run/job-view.js';
export type { WorkerMessage, ParentMessage } from './run/protocol.js';
export { writeJobPlots, writeComparison, findJobDirs, COMPARISON_PNG, SUMMARY_MD } from './plots/results.js';
export { readJobResults, type JobResults } from './plots/results-files.js';

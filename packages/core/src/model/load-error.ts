/**
 * A model reference that cannot be loaded: a missing or wrong folder, a bad config.json, a refused
 * tensor, a Hub failure. The message names the file or id and what was expected; callers (the CLI)
 * show it without a stack.
 */
export class ModelLoadError extends Error {
  readonly code = 'MODEL_LOAD';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ModelLoadError';
  }
}

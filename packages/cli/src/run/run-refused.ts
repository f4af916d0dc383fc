/**
 * A run refused before any job started (output folder in use, not gbp's, or holding an earlier
 * run): the CLI prints the message alone and exits 2, like bad input.
 */
export class RunRefusedError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'RunRefusedError';
  }
}

/** A checkpoint file's bytes; a missing file says what it should have held, any other failure names the file. */
import { readFile } from 'node:fs/promises';

export async function readCheckpointFile(file: string, missingHint: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${file}: missing (${missingHint})` : `${file}: cannot read: ${(error as Error).message}`, { cause: error });
  }
}

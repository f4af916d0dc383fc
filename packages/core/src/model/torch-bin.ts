/**
 * The checkpoint `torch.save(state_dict)` writes (`pytorch_model.bin` on the Hub), in either of its
 * formats: torch >= 1.6 writes a zip archive of `<archive>/data.pkl` (the state dict, pickled, its
 * tensor storages replaced by persistent ids), `<archive>/data/<key>` (each storage's raw bytes),
 * `<archive>/byteorder` and `<archive>/version`; older torch wrote the legacy stream that
 * torch-bin-legacy.ts reads. Read into the same tensors decodeSafetensors gives: F32, F16 and BF16
 * as float32 data with their source dtype, other dtypes with empty data (the caller refuses them by
 * name, or ignores them). The pickle runs no code: only tensor rebuilds and storage types are known.
 */
import { endianness } from 'node:os';
import { readCheckpointFile } from './read-checkpoint-file.js';
import { unzipSync } from 'fflate';
import { decodeLegacyTorchBin } from './torch-bin-legacy.js';
import { unpickle } from './pickle-vm.js';
import { Storage, stateDictHost, stateDictTensors, storageOnce, type CheckpointTensor, type StorageResolver } from './torch-state-dict.js';

export type { CheckpointTensor };

const isZip = (bytes: Uint8Array) => bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 0x03 || bytes[2] === 0x05);
/** A POSIX tar archive: "ustar" at byte 257 of its first header. */
const isTar = (bytes: Uint8Array) => bytes.length >= 262 && Buffer.from(bytes.subarray(257, 262)).toString('latin1') === 'ustar';

/** The zip entries of `bytes`. */
function unzipArchive(bytes: Uint8Array, file: string): Record<string, Uint8Array> {
  try {
    return unzipSync(bytes);
  } catch (error) {
    throw new Error(`${file}: not a readable zip archive (${(error as Error).message}): the file may be truncated or damaged`, { cause: error });
  }
}

/** The `<archive>/` prefix of the archive's entries: the folder holding data.pkl. */
function archivePrefix(entries: Record<string, Uint8Array>, file: string): string {
  const pickles = Object.keys(entries).filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    const names = Object.keys(entries);
    const listed = `${names.slice(0, 5).join(', ')}${names.length > 5 ? `, ... (${names.length} entries)` : ''}`;
    throw new Error(
      pickles.length === 0
        ? `${file}: no <archive>/data.pkl in the zip (entries: ${listed || 'none'}): not a checkpoint torch.save wrote`
        : `${file}: ${pickles.length} data.pkl entries (${pickles.join(', ')}): expected one archive`,
    );
  }
  return pickles[0]!.slice(0, -'data.pkl'.length);
}

/** The state dict in `bytes` (either torch.save format); `file` names it in errors. */
export function decodeTorchBin(bytes: Uint8Array, file: string): Map<string, CheckpointTensor> {
  // Storages are read as little-endian typed arrays.
  if (endianness() !== 'LE') throw new Error(`${file}: only little-endian hosts are supported`);
  if (isZip(bytes)) return decodeZip(bytes, file);
  if (isTar(bytes)) {
    throw new Error(
      `${file}: written in torch.save's original tar format (entries storages, tensors, pickle; torch before 0.4), which gbp does not read; re-save it with torch >= 1.6 (torch.save(torch.load(f), f)) or convert it to model.safetensors`,
    );
  }
  // The legacy format is a bare stream of pickles (PROTO 2, then torch's magic number).
  if (bytes[0] === 0x80) return decodeLegacyTorchBin(bytes, file);
  throw new Error(`${file}: not a torch.save checkpoint: it starts with neither a zip header (torch >= 1.6 writes a zip archive) nor a pickle (the legacy format before it)`);
}

/** The state dict of a torch.save zip archive. */
function decodeZip(bytes: Uint8Array, file: string): Map<string, CheckpointTensor> {
  const entries = unzipArchive(bytes, file);
  const prefix = archivePrefix(entries, file);
  const byteorder = entries[`${prefix}byteorder`];
  // Archives without the entry (torch < 2.1) were little-endian.
  if (byteorder !== undefined && Buffer.from(byteorder).toString('latin1') !== 'little') {
    throw new Error(`${file}: ${prefix}byteorder says '${Buffer.from(byteorder).toString('latin1')}'; gbp reads little-endian checkpoints only`);
  }
  const storages = new Map<string, Storage>();
  // ('storage', type, key, location, numel): the bytes are the entry data/<key>.
  const resolve: StorageResolver = (type, key) => {
    const entry = `${prefix}data/${key}`;
    const data = entries[entry];
    if (data === undefined) throw new Error(`${file}: no ${entry} in the zip for storage '${key}' that data.pkl refers to: the archive is incomplete`);
    return storageOnce(storages, key, type.dtype, file, () => new Storage(key, type.dtype, data));
  };
  const where = `${file}: ${prefix}data.pkl`;
  const state = unpickle(entries[`${prefix}data.pkl`]!, stateDictHost(file, 5, resolve), where);
  return stateDictTensors(state, where, file);
}

/** Reads and decodes a torch.save checkpoint; a missing file says what it should have held (`missingHint`). */
export async function readTorchBinFile(file: string, missingHint: string): Promise<Map<string, CheckpointTensor>> {
  return decodeTorchBin(await readCheckpointFile(file, missingHint), file);
}

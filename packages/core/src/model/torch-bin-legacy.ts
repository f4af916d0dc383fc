/**
 * torch.save's legacy format (torch < 1.6, or `_use_new_zipfile_serialization=False`), which many
 * Hub BERTs converted in 2019-2020 still use: a stream of five pickles, then the storages' data.
 *
 *   1. torch's magic number 0x1950a86a20f9469cfc6c    2. the format's protocol version, 1001
 *   3. sys_info: { protocol_version, little_endian, type_sizes }
 *   4. the state dict; its storages are persistent ids
 *      ('storage', storage type, root key, location, numel, view metadata), the view metadata
 *      None or (view key, offset, size): a window of the root storage (torch < 1.0 wrote those)
 *   5. the sorted list of root keys
 *   then, for each key in that order, its element count (8 bytes, little-endian) and its data,
 *   which torch writes little-endian on every machine.
 *
 * Read as torch/serialization.py `_legacy_load` reads it, with the same allow-listed host as the zip
 * format (torch-state-dict.ts): the pickles run no code.
 */
import { unpickleAt, type PickleHost } from './pickle-vm.js';
import { DTYPE_BYTES } from './dtypes.js';
import { describe, plainDataHost, stateDictHost, stateDictTensors, Storage, storageOnce, type CheckpointTensor, type StorageResolver } from './torch-state-dict.js';

const MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;

/** A storage's declared element count, as its persistent id gives it. */
interface Root {
  storage: Storage;
  numel: number;
}
/** A window [offset, offset + size) of a root storage, in its elements. */
interface View {
  storage: Storage;
  root: Root;
  offset: number;
  size: number;
}

const isCount = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0;

/** The state dict of a legacy torch.save stream; `file` names it in errors. */
export function decodeLegacyTorchBin(bytes: Uint8Array, file: string): Map<string, CheckpointTensor> {
  let at = 0;
  const next = (what: string, host: PickleHost) => {
    const where = `${file}: the ${what} pickle at byte ${at}`;
    const { value, end } = unpickleAt(bytes, at, host, where);
    at = end;
    return { value, where };
  };
  const plain = plainDataHost(file);

  const magic = next('magic number', plain).value;
  if (magic !== MAGIC_NUMBER) {
    throw new Error(`${file}: not a torch.save checkpoint: its first pickle holds ${describe(magic)}, not torch's magic number 0x1950a86a20f9469cfc6c`);
  }
  const version = next('protocol version', plain).value;
  if (version !== PROTOCOL_VERSION) {
    throw new Error(`${file}: torch.save legacy format version ${typeof version === 'number' ? version : describe(version)}; gbp reads version ${PROTOCOL_VERSION}, the only one torch wrote`);
  }
  const sysInfo = next('sys_info', plain);
  const littleEndian = sysInfo.value instanceof Map ? sysInfo.value.get('little_endian') : undefined;
  if (littleEndian !== true) {
    // The torch releases checked (1.x, 2.x) write storage data little-endian on every machine, but not
    // every old one is known to: a file from a big-endian machine is refused rather than guessed at.
    throw new Error(
      littleEndian === false
        ? `${sysInfo.where}: little_endian is False: written on a big-endian machine; gbp reads checkpoints written on little-endian ones only (load it with torch and save it as model.safetensors)`
        : `${sysInfo.where}: expected a dict with little_endian True or False, found ${
            !(sysInfo.value instanceof Map) ? describe(sysInfo.value) : littleEndian === undefined ? 'a dict without it' : `little_endian ${describe(littleEndian)}`
          }`,
    );
  }

  const storages = new Map<string, Storage>();
  const roots = new Map<string, Root>();
  const views = new Map<string, View>();
  const resolve: StorageResolver = (type, key, [, numel, viewMetadata]) => {
    if (!isCount(numel)) throw new Error(`${file}: storage '${key}' has element count ${describe(numel)}, expected a non-negative integer`);
    const storage = storageOnce(storages, key, type.dtype, file, () => new Storage(key, type.dtype));
    const root = roots.get(key) ?? { storage, numel };
    if (root.numel !== numel) throw new Error(`${file}: storage '${key}' is named with ${root.numel} and with ${numel} elements`);
    roots.set(key, root);
    if (viewMetadata === null) return root.storage;
    const [viewKey, offset, size] = Array.isArray(viewMetadata) && viewMetadata.length === 3 ? viewMetadata : [];
    if (typeof viewKey !== 'string' || !isCount(offset) || !isCount(size)) {
      throw new Error(`${file}: storage '${key}' has view metadata ${describe(viewMetadata)}, expected None or (view key, offset, size)`);
    }
    const view = views.get(viewKey) ?? { storage: new Storage(viewKey, type.dtype, undefined, root.storage), root, offset, size };
    if (view.root !== root || view.offset !== offset || view.size !== size) {
      throw new Error(`${file}: storage view '${viewKey}' is named as two different windows of storage '${view.root.storage.key}' and '${key}'`);
    }
    views.set(viewKey, view);
    return view.storage;
  };
  const stateDict = next('state dict', stateDictHost(file, 6, resolve));

  const keysPickle = next('storage keys', plain);
  const keys = keysPickle.value;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
    throw new Error(`${keysPickle.where}: holds ${describe(keys)}, expected the list of storage keys (strings)`);
  }
  for (const [i, key] of (keys as string[]).entries()) {
    const root = roots.get(key);
    if (root === undefined) throw new Error(`${keysPickle.where}: lists storage '${key}', which the state dict does not use`);
    if (root.storage.filled) throw new Error(`${keysPickle.where}: lists storage '${key}' twice`);
    const where = `storage '${key}' (${i + 1} of ${keys.length})`;
    if (at + 8 > bytes.length) throw new Error(`${file}: ends at byte ${bytes.length}, before the element count of ${where} at byte ${at}: the file is truncated`);
    const count = new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigUint64(0, true);
    if (count !== BigInt(root.numel)) throw new Error(`${file}: ${where} holds ${count} elements at byte ${at}; the state dict says ${root.numel}`);
    at += 8;
    const length = root.numel * DTYPE_BYTES[root.storage.dtype];
    if (at + length > bytes.length) {
      throw new Error(`${file}: ${where} needs ${length} bytes from byte ${at}, the file ends at byte ${bytes.length}: the file is truncated`);
    }
    // A window of the file, not a copy: materialising the tensors copies what they view.
    root.storage.fill(bytes.subarray(at, at + length));
    at += length;
  }
  for (const [key, root] of roots) {
    if (!root.storage.filled) throw new Error(`${keysPickle.where}: does not list storage '${key}', which the state dict uses: its data is missing`);
  }
  for (const [key, view] of views) {
    const { root, offset, size } = view;
    if (offset + size > root.numel) {
      throw new Error(`${file}: storage view '${key}' is elements [${offset}, ${offset + size}) of storage '${root.storage.key}', which holds ${root.numel}`);
    }
    const elementBytes = DTYPE_BYTES[root.storage.dtype];
    view.storage.fill(root.storage.bytes.subarray(offset * elementBytes, (offset + size) * elementBytes));
  }
  return stateDictTensors(stateDict.value, stateDict.where, file);
}

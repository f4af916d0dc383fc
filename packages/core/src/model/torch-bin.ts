/**
 * The checkpoint `torch.save(state_dict)` writes (torch >= 1.6; `pytorch_model.bin` on the Hub): a
 * zip archive of `<archive>/data.pkl` (the state dict, pickled, its tensor storages replaced by
 * persistent ids), `<archive>/data/<key>` (each storage's raw bytes), `<archive>/byteorder` and
 * `<archive>/version`. Read into the same tensors decodeSafetensors gives: F32, F16 and BF16 as
 * float32 data with their source dtype, other dtypes with empty data (the caller refuses them by
 * name, or ignores them). The pickle runs no code: only tensor rebuilds and storage types are known.
 */
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { unzipSync } from 'fflate';
import { decodeFloats, DTYPE_BYTES, isFloatDtype, type Dtype } from './dtypes.js';
import { unpickle, type PickleHost } from './pickle-vm.js';
import type { NamedTensor } from './safetensors.js';

export type CheckpointTensor = NamedTensor & { dtype: string };

/** torch's legacy storage classes (`torch.FloatStorage`, ...) by the dtype of their elements. */
const STORAGE_TYPES: Record<string, Dtype> = {
  FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', DoubleStorage: 'F64',
  LongStorage: 'I64', IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
};

/** `torch.<name>` dtypes (the argument of _rebuild_tensor_v3), aliases included. */
const TORCH_DTYPES: Record<string, Dtype> = {
  float32: 'F32', float: 'F32', float16: 'F16', half: 'F16', bfloat16: 'BF16', float64: 'F64', double: 'F64',
  int64: 'I64', long: 'I64', int32: 'I32', int: 'I32', int16: 'I16', short: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};

/** The callables a state dict's pickle calls. */
const CALLABLES = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
]);

/** What an allowed global stands for inside the reader. */
class Callable {
  constructor(readonly name: string) {}
}
class StorageType {
  constructor(readonly name: string, readonly dtype: Dtype) {}
}
class TorchDtype {
  constructor(readonly name: string, readonly dtype: Dtype) {}
}
/** A storage named by a persistent id: the bytes of `<archive>/data/<key>`. */
class Storage {
  constructor(readonly key: string, readonly dtype: Dtype, readonly bytes: Uint8Array) {}
}
/** A tensor as torch rebuilds it: a view of `storage` (offset and strides in elements of `dtype`). */
class TensorView {
  constructor(readonly storage: Storage, readonly offset: number, readonly size: readonly number[], readonly stride: readonly number[], readonly dtype: Dtype) {}
}

const REFUSAL = 'gbp reads tensor storages only';

/** Python's repr-ish name of a pickled value, for errors. */
function describe(value: unknown): string {
  if (value instanceof Callable || value instanceof StorageType || value instanceof TorchDtype) return value.name;
  if (value instanceof TensorView) return 'a tensor';
  if (value instanceof Storage) return 'a storage';
  if (value instanceof Map) return 'a dict';
  if (Array.isArray(value)) return Object.isFrozen(value) ? 'a tuple' : 'a list';
  if (value === null) return 'None';
  return `a ${typeof value} (${JSON.stringify(value)?.slice(0, 40) ?? String(value)})`;
}

const isIntList = (v: unknown): v is readonly number[] => Array.isArray(v) && v.every((n) => Number.isInteger(n) && (n as number) >= 0);

/** The zip entries of `bytes`, refusing the legacy format and anything else that is not a zip. */
function unzipArchive(bytes: Uint8Array, file: string): Record<string, Uint8Array> {
  const isZip = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 0x03 || bytes[2] === 0x05);
  if (!isZip) {
    // The legacy format is a bare pickle stream (PROTO 2 then torch's magic number).
    if (bytes[0] === 0x80) {
      throw new Error(
        `${file}: written in torch.save's legacy format (before torch 1.6), which gbp does not read; re-save it with torch >= 1.6 (torch.save(torch.load(f), f)) or convert it to model.safetensors`,
      );
    }
    throw new Error(`${file}: not a torch.save checkpoint: it does not start with a zip header (torch >= 1.6 writes a zip archive)`);
  }
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

/** The host that lets the pickle rebuild tensors over the archive's storages and nothing else. */
function stateDictHost(entries: Record<string, Uint8Array>, prefix: string, file: string): PickleHost {
  const refuse = (what: string): never => {
    throw new Error(`${file}: refuses to ${what}: ${REFUSAL}`);
  };
  const storages = new Map<string, Storage>();
  return {
    global(module, name) {
      const full = `${module}.${name}`;
      if (CALLABLES.has(full)) return new Callable(full);
      // Own keys only: `name in` would also find Object.prototype's (torch.constructor, torch.__proto__).
      if (module === 'torch' && Object.hasOwn(STORAGE_TYPES, name)) return new StorageType(full, STORAGE_TYPES[name]!);
      // torch 2's untyped storage (bytes; its tensors carry the dtype, _rebuild_tensor_v3).
      if ((module === 'torch' || module === 'torch.storage') && name === 'UntypedStorage') return new StorageType(full, 'U8');
      if (module === 'torch' && Object.hasOwn(TORCH_DTYPES, name)) return new TorchDtype(full, TORCH_DTYPES[name]!);
      return refuse(`load pickle global ${full}`);
    },
    call(callable, args, opcode) {
      if (!(callable instanceof Callable) || opcode !== 'REDUCE') return refuse(`call ${describe(callable)} (pickle ${opcode})`);
      const fail = (what: string): never => {
        throw new Error(`${file}: ${callable.name} called with ${what}`);
      };
      switch (callable.name) {
        case 'collections.OrderedDict':
          if (args.length !== 0) fail(`${args.length} argument(s), expected none`);
          return new Map();
        case 'torch._utils._rebuild_tensor_v2':
        case 'torch._utils._rebuild_tensor_v3': {
          const [storage, offset, size, stride] = args;
          if (!(storage instanceof Storage)) return fail(`${describe(storage)} for its storage`);
          if (!Number.isInteger(offset) || (offset as number) < 0) return fail(`storage offset ${describe(offset)}`);
          if (!isIntList(size) || !isIntList(stride) || size.length !== stride.length) return fail(`size ${describe(size)} and stride ${describe(stride)}`);
          let dtype = storage.dtype;
          if (callable.name.endsWith('v3')) {
            const given = args[6];
            if (!(given instanceof TorchDtype)) return fail(`dtype ${describe(given)}`);
            dtype = given.dtype;
          }
          return new TensorView(storage, offset as number, size, stride, dtype);
        }
        case 'torch._utils._rebuild_parameter':
        case 'torch._utils._rebuild_parameter_with_state': {
          // (data, requires_grad, backward_hooks[, state]): an nn.Parameter is its data here.
          const [data] = args;
          if (!(data instanceof TensorView)) return fail(`${describe(data)}, expected a tensor`);
          return data;
        }
        default:
          throw new Error(`internal: allowed callable ${callable.name} has no rebuild`);
      }
    },
    build(obj, state) {
      // state_dict()'s OrderedDict carries `_metadata` (module versions) as an attribute, not an entry.
      if (obj instanceof Map) return;
      refuse(`set the state of ${describe(obj)} to ${describe(state)} (pickle BUILD)`);
    },
    persistentLoad(pid) {
      if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length !== 5) return refuse(`load persistent id ${describe(pid)}`);
      const [, type, key] = pid as unknown[];
      if (!(type instanceof StorageType)) return refuse(`load a storage of type ${describe(type)}`);
      if (typeof key !== 'string') return refuse(`load a storage with key ${describe(key)}`);
      const entry = `${prefix}data/${key}`;
      const bytes = entries[entry];
      if (bytes === undefined) throw new Error(`${file}: no ${entry} in the zip for storage '${key}' that data.pkl refers to: the archive is incomplete`);
      // One Storage per key (as torch.load keeps one): what the views share is counted once.
      const storage = storages.get(key) ?? new Storage(key, type.dtype, bytes);
      if (storage.dtype !== type.dtype) throw new Error(`${file}: storage '${key}' is named as ${storage.dtype} and as ${type.dtype}`);
      storages.set(key, storage);
      return storage;
    },
  };
}

/** The tensor `view` materialises as: contiguous, row-major, float32 for the float dtypes. */
function materialise(name: string, view: TensorView, file: string): CheckpointTensor {
  const { storage, offset, size, stride, dtype } = view;
  const shape = [...size];
  const count = size.reduce((a, b) => a * b, 1);
  const elementBytes = DTYPE_BYTES[dtype];
  const available = Math.floor(storage.bytes.length / elementBytes);
  const last = count === 0 ? offset - 1 : offset + size.reduce((sum, n, d) => sum + (n - 1) * stride[d]!, 0);
  if (last >= available) {
    throw new Error(
      `${file}: tensor '${name}' of shape [${shape.join(', ')}] (storage offset ${offset}, strides [${stride.join(', ')}]) needs ${last + 1} ${dtype} values, storage '${storage.key}' holds ${available}`,
    );
  }
  if (!isFloatDtype(dtype)) return { dtype, shape, data: new Float32Array(0) };
  let contiguous = true;
  for (let d = size.length - 1, expected = 1; d >= 0; expected *= size[d]!, d--) {
    if (size[d]! > 1 && stride[d] !== expected) contiguous = false;
  }
  if (contiguous) return { dtype, shape, data: decodeFloats(storage.bytes.subarray(offset * elementBytes), dtype, count) };
  // A strided view (a transposed or sliced tensor saved as such): gather its elements in row-major order.
  const span = decodeFloats(storage.bytes.subarray(offset * elementBytes), dtype, last - offset + 1);
  const data = new Float32Array(count);
  const index = new Array<number>(size.length).fill(0);
  for (let i = 0; i < count; i++) {
    let at = 0;
    for (let d = 0; d < size.length; d++) at += index[d]! * stride[d]!;
    data[i] = span[at]!;
    for (let d = size.length - 1; d >= 0; d--) {
      if (++index[d]! < size[d]!) break;
      index[d] = 0;
    }
  }
  return { dtype, shape, data };
}

/** The state dict in `bytes` (a torch.save zip archive); `file` names it in errors. */
export function decodeTorchBin(bytes: Uint8Array, file: string): Map<string, CheckpointTensor> {
  // Storages are read as little-endian typed arrays.
  if (endianness() !== 'LE') throw new Error(`${file}: only little-endian hosts are supported`);
  const entries = unzipArchive(bytes, file);
  const prefix = archivePrefix(entries, file);
  const byteorder = entries[`${prefix}byteorder`];
  // Archives without the entry (torch < 2.1) were little-endian.
  if (byteorder !== undefined && Buffer.from(byteorder).toString('latin1') !== 'little') {
    throw new Error(`${file}: ${prefix}byteorder says '${Buffer.from(byteorder).toString('latin1')}'; gbp reads little-endian checkpoints only`);
  }
  const where = `${file}: ${prefix}data.pkl`;
  const state = unpickle(entries[`${prefix}data.pkl`]!, stateDictHost(entries, prefix, file), where);
  if (!(state instanceof Map)) throw new Error(`${where} holds ${describe(state)}, not a state dict (a dict of tensors by name, as save_pretrained writes)`);
  const views = new Map<string, TensorView>();
  for (const [name, value] of state) {
    if (typeof name !== 'string') throw new Error(`${where}: a state dict key that is not a string: ${describe(name)}`);
    if (!(value instanceof TensorView)) throw new Error(`${where}: entry '${name}' is ${describe(value)}, not a tensor (gbp reads a state dict: tensors by name)`);
    views.set(name, value);
  }
  refuseOverlappingViews(views, file);
  // Tied weights (one view under two names, e.g. a decoder tied to the word embeddings) share their data.
  const byView = new Map<string, CheckpointTensor>();
  const tensors = new Map<string, CheckpointTensor>();
  for (const [name, view] of views) {
    const id = JSON.stringify([view.storage.key, view.dtype, view.offset, view.size, view.stride]);
    const tensor = byView.get(id) ?? materialise(name, view, file);
    byView.set(id, tensor);
    tensors.set(name, tensor);
  }
  return tensors;
}

/** How many times over a state dict may view its storages' bytes: ties view them twice; more is a memory bomb. */
const MAX_OVERLAP = 4;

/** Refuses views that together would copy far more than the archive holds, before copying anything. */
function refuseOverlappingViews(views: ReadonlyMap<string, TensorView>, file: string): void {
  const distinct = new Map<string, number>();
  const storages = new Set<Storage>();
  for (const view of views.values()) {
    const count = view.size.reduce((a, b) => a * b, 1);
    distinct.set(JSON.stringify([view.storage.key, view.dtype, view.offset, view.size, view.stride]), count * DTYPE_BYTES[view.dtype]);
    storages.add(view.storage);
  }
  const viewed = [...distinct.values()].reduce((a, b) => a + b, 0);
  const held = [...storages].reduce((a, s) => a + s.bytes.length, 0);
  if (viewed > MAX_OVERLAP * held) {
    throw new Error(`${file}: its tensors view ${viewed} bytes of storages holding ${held}: more than ${MAX_OVERLAP} times over, which no state dict does; refusing to materialise them`);
  }
}

/** Reads and decodes a torch.save checkpoint; a missing file says what it should have held (`missingHint`). */
export async function readTorchBinFile(file: string, missingHint: string): Promise<Map<string, CheckpointTensor>> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${file}: missing (${missingHint})` : `${file}: cannot read: ${(error as Error).message}`, { cause: error });
  }
  return decodeTorchBin(bytes, file);
}

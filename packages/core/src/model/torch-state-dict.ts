/**
 * What both torch.save formats share: the allow-listed pickle host that rebuilds a state dict's
 * tensors over storages and refuses everything else, and the tensors it materialises. The formats
 * differ only in where a storage's bytes are (a zip entry, or after the pickles of the legacy
 * stream): each hands the host a `StorageResolver`. Read into the same tensors decodeSafetensors
 * gives: F32, F16 and BF16 as float32 data with their source dtype, other dtypes with empty data.
 */
import { decodeFloats, DTYPE_BYTES, isFloatDtype, type Dtype } from './dtypes.js';
import type { PickleHost } from './pickle-vm.js';
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
export class StorageType {
  constructor(readonly name: string, readonly dtype: Dtype) {}
}
class TorchDtype {
  constructor(readonly name: string, readonly dtype: Dtype) {}
}

/**
 * A storage named by a persistent id. Its bytes are known when the pickle names it (zip) or only
 * after the pickle (legacy stream: `fill` then); `root` is the storage a legacy storage view is
 * part of (its own bytes are then a window of the root's).
 */
export class Storage {
  #bytes: Uint8Array | undefined;
  constructor(readonly key: string, readonly dtype: Dtype, bytes?: Uint8Array, readonly root?: Storage) {
    this.#bytes = bytes;
  }
  get bytes(): Uint8Array {
    if (this.#bytes === undefined) throw new Error(`internal: storage '${this.key}' read before its data`);
    return this.#bytes;
  }
  get filled(): boolean {
    return this.#bytes !== undefined;
  }
  fill(bytes: Uint8Array): void {
    this.#bytes = bytes;
  }
}

/** A tensor as torch rebuilds it: a view of `storage` (offset and strides in elements of `dtype`). */
class TensorView {
  constructor(readonly storage: Storage, readonly offset: number, readonly size: readonly number[], readonly stride: readonly number[], readonly dtype: Dtype) {}
}

/** The storage a persistent id ('storage', type, key, ...rest) names; `rest` is the format's own tail. */
export type StorageResolver = (type: StorageType, key: string, rest: readonly unknown[]) => Storage;

const REFUSAL = 'gbp reads tensor storages only';

/** Python's repr-ish name of a pickled value, for errors. */
export function describe(value: unknown): string {
  if (value instanceof Callable || value instanceof StorageType || value instanceof TorchDtype) return value.name;
  if (value instanceof TensorView) return 'a tensor';
  if (value instanceof Storage) return 'a storage';
  if (value instanceof Map) return 'a dict';
  if (Array.isArray(value)) return Object.isFrozen(value) ? 'a tuple' : 'a list';
  if (value === null) return 'None';
  if (typeof value === 'bigint') return `an int (${value})`;
  return `a ${typeof value} (${JSON.stringify(value)?.slice(0, 40) ?? String(value)})`;
}

const isIntList = (v: unknown): v is readonly number[] => Array.isArray(v) && v.every((n) => Number.isInteger(n) && (n as number) >= 0);

/** A host for pickles of plain data (the legacy stream's header and key list): refuses every operation that runs code. */
export function plainDataHost(file: string): PickleHost {
  const refuse = (what: string): never => {
    throw new Error(`${file}: refuses to ${what}: ${REFUSAL}`);
  };
  return {
    global: (module, name) => refuse(`load pickle global ${module}.${name}`),
    call: (callable, _args, opcode) => refuse(`call ${describe(callable)} (pickle ${opcode})`),
    build: (obj, state) => refuse(`set the state of ${describe(obj)} to ${describe(state)} (pickle BUILD)`),
    persistentLoad: (pid) => refuse(`load persistent id ${describe(pid)}`),
  };
}

/**
 * The host that lets a state dict's pickle rebuild tensors over storages and nothing else;
 * `pidLength` is the length of the format's storage persistent ids (5 in a zip, 6 in the legacy stream).
 */
export function stateDictHost(file: string, pidLength: number, resolve: StorageResolver): PickleHost {
  const refuse = (what: string): never => {
    throw new Error(`${file}: refuses to ${what}: ${REFUSAL}`);
  };
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
      // torch.save(model) rather than its state_dict(): the legacy format names the module's class so.
      if (Array.isArray(pid) && pid[0] === 'module') {
        return refuse(`load persistent id ('module', ...), a pickled nn.Module (torch.save(model) rather than torch.save(model.state_dict()))`);
      }
      if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length !== pidLength) return refuse(`load persistent id ${describe(pid)}`);
      const [, type, key] = pid as unknown[];
      if (!(type instanceof StorageType)) return refuse(`load a storage of type ${describe(type)}`);
      if (typeof key !== 'string') return refuse(`load a storage with key ${describe(key)}`);
      return resolve(type, key, pid.slice(3));
    },
  };
}

/** One storage per key (as torch.load keeps one), so what views share is counted once; a key named with two dtypes is refused. */
export function storageOnce(storages: Map<string, Storage>, key: string, dtype: Dtype, file: string, make: () => Storage): Storage {
  const storage = storages.get(key) ?? make();
  if (storage.dtype !== dtype) throw new Error(`${file}: storage '${key}' is named as ${storage.dtype} and as ${dtype}`);
  storages.set(key, storage);
  return storage;
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

/** The identity of a view's data: views equal in it are ties and share one copy. */
function viewIdentity(view: TensorView, storageIds: Map<Storage, number>): string {
  if (!storageIds.has(view.storage)) storageIds.set(view.storage, storageIds.size);
  return JSON.stringify([storageIds.get(view.storage), view.dtype, view.offset, view.size, view.stride]);
}

/**
 * The tensors of the unpickled `state` (its storages' bytes all known by now); `where` names the
 * pickle in errors. Anything but a dict of tensors by name is refused, naming the entry.
 */
export function stateDictTensors(state: unknown, where: string, file: string): Map<string, CheckpointTensor> {
  if (!(state instanceof Map)) throw new Error(`${where} holds ${describe(state)}, not a state dict (a dict of tensors by name, as save_pretrained writes)`);
  const views = new Map<string, TensorView>();
  for (const [name, value] of state) {
    if (typeof name !== 'string') throw new Error(`${where}: a state dict key that is not a string: ${describe(name)}`);
    if (!(value instanceof TensorView)) throw new Error(`${where}: entry '${name}' is ${describe(value)}, not a tensor (gbp reads a state dict: tensors by name)`);
    views.set(name, value);
  }
  const storageIds = new Map<Storage, number>();
  refuseOverlappingViews(views, storageIds, file);
  // Tied weights (one view under two names, e.g. a decoder tied to the word embeddings) share their data.
  const byView = new Map<string, CheckpointTensor>();
  const tensors = new Map<string, CheckpointTensor>();
  for (const [name, view] of views) {
    const id = viewIdentity(view, storageIds);
    const tensor = byView.get(id) ?? materialise(name, view, file);
    byView.set(id, tensor);
    tensors.set(name, tensor);
  }
  return tensors;
}

/** How many times over a state dict may view its storages' bytes: ties view them twice; more is a memory bomb. */
const MAX_OVERLAP = 4;

/** Refuses views that together would copy far more than the file holds, before copying anything. */
function refuseOverlappingViews(views: ReadonlyMap<string, TensorView>, storageIds: Map<Storage, number>, file: string): void {
  const distinct = new Map<string, number>();
  // A legacy storage view holds no bytes of its own: its root is counted.
  const roots = new Set<Storage>();
  for (const view of views.values()) {
    const count = view.size.reduce((a, b) => a * b, 1);
    distinct.set(viewIdentity(view, storageIds), count * DTYPE_BYTES[view.dtype]);
    roots.add(view.storage.root ?? view.storage);
  }
  const viewed = [...distinct.values()].reduce((a, b) => a + b, 0);
  const held = [...roots].reduce((a, s) => a + s.bytes.length, 0);
  if (viewed > MAX_OVERLAP * held) {
    throw new Error(`${file}: its tensors view ${viewed} bytes of storages holding ${held}: more than ${MAX_OVERLAP} times over, which no state dict does; refusing to materialise them`);
  }
}

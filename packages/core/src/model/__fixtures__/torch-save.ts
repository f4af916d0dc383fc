/**
 * torch.save files built opcode by opcode (no python, no torch), in both formats: the zip archive
 * (torch >= 1.6) and the legacy stream of pickles (torch < 1.6), as torch/serialization.py writes them.
 */
import { zipSync } from 'fflate';

const text = new TextEncoder();

/** Writes pickle opcodes; `modern` writes protocol 4's forms (FRAME, STACK_GLOBAL, SHORT_BINUNICODE, MEMOIZE). */
export class PickleWriter {
  private readonly out: number[] = [];
  constructor(private readonly modern = false) {}
  op(...bytes: number[]): this {
    this.out.push(...bytes);
    return this;
  }
  le(n: number | bigint, width: number): number[] {
    return Array.from({ length: width }, (_, i) => Number((BigInt(n) >> BigInt(8 * i)) & 0xffn));
  }
  proto(): this {
    return this.modern ? this.op(0x80, 4, 0x95, ...this.le(0, 8)) : this.op(0x80, 2);
  }
  str(s: string): this {
    const b = [...text.encode(s)];
    return this.modern ? this.op(0x8c, b.length, ...b, 0x94) : this.op(0x58, ...this.le(b.length, 4), ...b);
  }
  global(module: string, name: string): this {
    return this.modern ? this.str(module).str(name).op(0x93, 0x94) : this.op(0x63, ...text.encode(`${module}\n${name}\n`));
  }
  int(n: number): this {
    return this.op(0x4a, ...this.le(n, 4));
  }
  ints(ns: readonly number[]): this {
    this.op(0x28);
    ns.forEach((n) => this.int(n));
    return this.op(0x74);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export interface TensorSpec {
  name: string;
  /** A torch storage class name (FloatStorage, ...) or UntypedStorage (then `dtype` is the tensor's, v3). */
  storage: string;
  key: string;
  /** The storage's element count (the root's, for a legacy view). */
  numel: number;
  offset?: number;
  size: number[];
  stride: number[];
  /** torch dtype name for _rebuild_tensor_v3. */
  dtype?: string;
  /** Wrapped in _rebuild_parameter, as an nn.Parameter is. */
  parameter?: boolean;
  /** Legacy format only: the tensor's storage is this window of the root storage `key` (its view metadata). */
  view?: { key: string; offset: number; size: number };
}

export interface StateDictOptions {
  /** Protocol 4's forms (torch 2 writes protocol 2 too; the reader takes both). */
  modern?: boolean;
  /** The `_metadata` attribute state_dict() sets, as its BUILD. */
  metadata?: boolean;
  /** A dict (what transformers' sharded save writes) rather than an OrderedDict. */
  plainDict?: boolean;
  /** Persistent ids of the legacy format: ('storage', type, key, location, numel, view metadata). */
  legacy?: boolean;
}

/** The pickle of a state dict (an OrderedDict of rebuilt tensors), as torch.save writes it. */
export function stateDictPickle(tensors: readonly TensorSpec[], options: StateDictOptions = {}): Uint8Array {
  const w = new PickleWriter(options.modern).proto();
  if (options.plainDict) w.op(0x7d, 0x28);
  else w.global('collections', 'OrderedDict').op(0x29, 0x52).op(0x28);
  for (const t of tensors) {
    w.str(t.name);
    if (t.parameter) w.global('torch._utils', '_rebuild_parameter').op(0x28);
    w.global('torch._utils', t.dtype === undefined ? '_rebuild_tensor_v2' : '_rebuild_tensor_v3').op(0x28);
    w.op(0x28).str('storage').global(t.storage === 'UntypedStorage' ? 'torch.storage' : 'torch', t.storage).str(t.key).str('cpu').int(t.numel);
    if (options.legacy) {
      if (t.view === undefined) w.op(0x4e);
      else w.str(t.view.key).int(t.view.offset).int(t.view.size).op(0x87);
    }
    w.op(0x74, 0x51);
    w.int(t.offset ?? 0).ints(t.size).ints(t.stride).op(0x89);
    w.global('collections', 'OrderedDict').op(0x29, 0x52);
    if (t.dtype !== undefined) w.global('torch', t.dtype);
    w.op(0x74, 0x52);
    if (t.parameter) w.op(0x89).global('collections', 'OrderedDict').op(0x29, 0x52).op(0x74, 0x52);
  }
  w.op(0x75);
  if (options.metadata) {
    // BUILD(state_dict, {'_metadata': OrderedDict({'': {'version': 1}})})
    w.op(0x7d).str('_metadata').global('collections', 'OrderedDict').op(0x29, 0x52);
    w.op(0x28).str('').op(0x7d).str('version').int(1).op(0x73, 0x75).op(0x73, 0x62);
  }
  return w.op(0x2e).bytes();
}

/** A torch.save-style zip: `<prefix>/data.pkl`, `<prefix>/data/<key>`, byteorder, version. */
export function zipArchive(pickle: Uint8Array, storages: Record<string, Uint8Array>, options: { prefix?: string; byteorder?: string | null } = {}): Uint8Array {
  const prefix = options.prefix ?? 'archive';
  const entries: Record<string, Uint8Array> = { [`${prefix}/data.pkl`]: pickle };
  for (const [key, bytes] of Object.entries(storages)) entries[`${prefix}/data/${key}`] = bytes;
  if (options.byteorder !== null) entries[`${prefix}/byteorder`] = text.encode(options.byteorder ?? 'little');
  entries[`${prefix}/version`] = text.encode('3\n');
  return zipSync(entries, { level: 0 });
}

/** The legacy stream's first pickles, as _legacy_save dumps them (protocol 2): the magic number, 1001, sys_info. */
export function legacyHeader(options: { magic?: bigint; version?: number; littleEndian?: boolean } = {}): Uint8Array {
  const w = new PickleWriter();
  // LONG1: 10 bytes, little-endian two's complement.
  w.proto().op(0x8a, 10, ...w.le(options.magic ?? 0x1950a86a20f9469cfc6cn, 10), 0x2e);
  w.proto().op(0x4d, ...w.le(options.version ?? 1001, 2), 0x2e);
  w.proto().op(0x7d, 0x71, 0, 0x28).str('protocol_version').op(0x4d, ...w.le(1001, 2)).str('little_endian').op(options.littleEndian === false ? 0x89 : 0x88);
  w.str('type_sizes').op(0x7d, 0x71, 1, 0x28).str('short').op(0x4b, 2).str('int').op(0x4b, 4).str('long').op(0x4b, 4).op(0x75, 0x75, 0x2e);
  return w.bytes();
}

/** A storage's data in the legacy stream: its element count (8 bytes, little-endian), then its bytes. */
export interface LegacyStorage {
  key: string;
  bytes: Uint8Array;
  /** The element count written before the data; default bytes / `elementBytes`. */
  count?: number;
  elementBytes?: number;
}

/** A whole legacy torch.save file: header, the state dict pickle, the key list, each storage's count and data. */
export function legacyFile(statePickle: Uint8Array, storages: readonly LegacyStorage[], options: { header?: Uint8Array; keys?: readonly string[] } = {}): Uint8Array {
  const keys = new PickleWriter().proto().op(0x5d, 0x71, 0, 0x28);
  for (const key of options.keys ?? storages.map((s) => s.key)) keys.str(key);
  const parts: Uint8Array[] = [options.header ?? legacyHeader(), statePickle, keys.op(0x65, 0x2e).bytes()];
  for (const s of storages) parts.push(Uint8Array.from(keys.le(s.count ?? s.bytes.length / (s.elementBytes ?? 4), 8)), s.bytes);
  return new Uint8Array(Buffer.concat(parts));
}

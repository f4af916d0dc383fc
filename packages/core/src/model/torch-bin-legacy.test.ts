/**
 * torch.save's legacy format (torch < 1.6) on files built here, opcode by opcode (no python, no
 * torch): read into the same tensors as the zip format, storage views honoured, the same allow-list,
 * and broken or foreign streams refused with the file and what is wrong.
 */
import { describe, expect, it } from 'vitest';
import { legacyFile, legacyHeader, PickleWriter, stateDictPickle, zipArchive, type LegacyStorage, type TensorSpec } from './__fixtures__/torch-save.js';
import { decodeTorchBin } from './torch-bin.js';

const FILE = '/models/bert-mini/pytorch_model.bin';
const f32 = (values: readonly number[]) => new Uint8Array(Float32Array.from(values).buffer);
const u16 = (bits: readonly number[]) => new Uint8Array(Uint16Array.from(bits).buffer);
const iota = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A state dict with what checkpoints hold: parameters, half storage, ints, a tie, a transposed view of a shared storage, _metadata. */
const TENSORS: TensorSpec[] = [
  { name: 'enc.weight', storage: 'FloatStorage', key: '140001', numel: 6, size: [2, 3], stride: [3, 1], parameter: true },
  { name: 'dec.weight', storage: 'FloatStorage', key: '140001', numel: 6, size: [2, 3], stride: [3, 1] },
  { name: 'enc.half', storage: 'HalfStorage', key: '140002', numel: 3, size: [3], stride: [1] },
  { name: 'position_ids', storage: 'LongStorage', key: '140003', numel: 2, size: [1, 2], stride: [2, 1] },
  { name: 'shared.t', storage: 'FloatStorage', key: '140004', numel: 12, offset: 2, size: [2, 3], stride: [1, 2] },
  { name: 'shared.tail', storage: 'FloatStorage', key: '140004', numel: 12, offset: 9, size: [3], stride: [1] },
];
const DATA: Record<string, Uint8Array> = {
  140001: f32([1, 2, 3, 4, 5, 6]),
  140002: u16([0x3c00, 0xc000, 0x7bff]),
  140003: new Uint8Array(16),
  140004: f32(iota(12)),
};
const storagesOf = (data: Record<string, Uint8Array>, elementBytes: Record<string, number> = { 140002: 2, 140003: 8 }): LegacyStorage[] =>
  Object.keys(data)
    .sort()
    .map((key) => ({ key, bytes: data[key]!, elementBytes: elementBytes[key] ?? 4 }));

describe('decodeTorchBin on the legacy format', () => {
  it('reads the tensors the zip archive of the same state dict gives: dtypes, ties, offsets and strides, _metadata', () => {
    for (const modern of [false, true]) {
      const legacy = decodeTorchBin(legacyFile(stateDictPickle(TENSORS, { legacy: true, metadata: true, modern }), storagesOf(DATA)), FILE);
      const zip = decodeTorchBin(zipArchive(stateDictPickle(TENSORS, { metadata: true, modern }), DATA), FILE);
      expect(legacy).toEqual(zip);
      expect([...legacy.keys()]).toEqual(TENSORS.map((t) => t.name));
      expect(legacy.get('enc.weight')).toEqual({ dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
      expect(legacy.get('dec.weight')!.data).toBe(legacy.get('enc.weight')!.data);
      expect(legacy.get('enc.half')).toEqual({ dtype: 'F16', shape: [3], data: Float32Array.from([1, -2, 65504]) });
      expect(legacy.get('position_ids')).toEqual({ dtype: 'I64', shape: [1, 2], data: new Float32Array(0) });
      expect(legacy.get('shared.t')!.data).toEqual(Float32Array.from([2, 4, 6, 3, 5, 7]));
      expect(legacy.get('shared.tail')!.data).toEqual(Float32Array.from([9, 10, 11]));
    }
  });

  it('reads tensors over storage views (view metadata: a window of a root storage, as torch < 1.0 wrote) and refuses one past its window', () => {
    const root = { storage: 'FloatStorage', key: '7', numel: 8 };
    const window = { key: '9', offset: 2, size: 4 };
    const pickle = stateDictPickle(
      [
        { ...root, name: 'whole', size: [8], stride: [1] },
        { ...root, name: 'in.view', offset: 1, size: [3], stride: [1], view: window },
        { ...root, name: 'view.col', size: [2], stride: [2], view: window },
      ],
      { legacy: true },
    );
    const tensors = decodeTorchBin(legacyFile(pickle, [{ key: '7', bytes: f32(iota(8)) }]), FILE);
    expect(tensors.get('whole')!.data).toEqual(Float32Array.from(iota(8)));
    expect(tensors.get('in.view')).toEqual({ dtype: 'F32', shape: [3], data: Float32Array.from([3, 4, 5]) });
    expect(tensors.get('view.col')!.data).toEqual(Float32Array.from([2, 4]));

    const past = stateDictPickle([{ ...root, name: 'past', offset: 1, size: [4], stride: [1], view: window }], { legacy: true });
    expect(() => decodeTorchBin(legacyFile(past, [{ key: '7', bytes: f32(iota(8)) }]), FILE)).toThrow(
      `${FILE}: tensor 'past' of shape [4] (storage offset 1, strides [1]) needs 5 F32 values, storage '9' holds 4`,
    );
    const outside = stateDictPickle([{ ...root, name: 'v', size: [1], stride: [1], view: { key: '9', offset: 6, size: 4 } }], { legacy: true });
    expect(() => decodeTorchBin(legacyFile(outside, [{ key: '7', bytes: f32(iota(8)) }]), FILE)).toThrow(
      `${FILE}: storage view '9' is elements [6, 10) of storage '7', which holds 8`,
    );
  });

  it('refuses what the zip reader refuses, by the same allow-list: a global outside it, a pickled nn.Module, and views that copy a storage more than 4 times over', () => {
    const system = new PickleWriter().proto().global('os', 'system').str('touch /tmp/gbp-pwned').op(0x85, 0x52, 0x2e).bytes();
    expect(() => decodeTorchBin(legacyFile(system, []), FILE)).toThrow(`${FILE}: refuses to load pickle global os.system: gbp reads tensor storages only`);
    // In the header too: sys_info is plain data.
    const header = legacyHeader();
    const evilHeader = Uint8Array.from([...header.subarray(0, 21), ...new PickleWriter().proto().global('builtins', 'eval').op(0x2e).bytes()]);
    expect(() => decodeTorchBin(evilHeader, FILE)).toThrow(`${FILE}: refuses to load pickle global builtins.eval: gbp reads tensor storages only`);
    const module = new PickleWriter().proto().op(0x28).str('module').global('transformers.modeling_bert', 'BertModel').str('modeling_bert.py').str('class BertModel').op(0x74, 0x51, 0x2e).bytes();
    expect(() => decodeTorchBin(legacyFile(module, []), FILE)).toThrow(`${FILE}: refuses to load pickle global transformers.modeling_bert.BertModel`);
    const bareModule = new PickleWriter().proto().str('module').op(0x85, 0x51, 0x2e).bytes();
    expect(() => decodeTorchBin(legacyFile(bareModule, []), FILE)).toThrow(`${FILE}: refuses to load persistent id ('module', ...), a pickled nn.Module`);
    // A zip-format persistent id (5 long) in a legacy stream is not a storage of this format.
    const zipPid = stateDictPickle([{ name: 'w', storage: 'FloatStorage', key: '0', numel: 1, size: [1], stride: [1] }]);
    expect(() => decodeTorchBin(legacyFile(zipPid, []), FILE)).toThrow(`${FILE}: refuses to load persistent id a tuple: gbp reads tensor storages only`);

    const view = (name: string, size: number[], stride: number[]): TensorSpec => ({ name, storage: 'FloatStorage', key: '0', numel: 4, size, stride });
    const bomb = stateDictPickle([view('a', [4], [1]), view('b', [2, 4], [0, 1]), view('c', [4, 4], [0, 1])], { legacy: true });
    expect(() => decodeTorchBin(legacyFile(bomb, [{ key: '0', bytes: f32([1, 2, 3, 4]) }]), FILE)).toThrow(
      `${FILE}: its tensors view 112 bytes of storages holding 16: more than 4 times over, which no state dict does; refusing to materialise them`,
    );
  });

  it('refuses a stream that is not torch.save legacy, is from a big-endian machine, or the tar format, naming the file and what is wrong', () => {
    const pickle = stateDictPickle([{ name: 'w', storage: 'FloatStorage', key: '0', numel: 2, size: [2], stride: [1] }], { legacy: true });
    const storages = [{ key: '0', bytes: f32([1, 2]) }];
    expect(decodeTorchBin(legacyFile(pickle, storages), FILE).get('w')!.data).toEqual(Float32Array.from([1, 2]));

    const plainPickle = new PickleWriter().proto().op(0x7d, 0x2e).bytes();
    expect(() => decodeTorchBin(plainPickle, FILE)).toThrow(`${FILE}: not a torch.save checkpoint: its first pickle holds a dict, not torch's magic number 0x1950a86a20f9469cfc6c`);
    expect(() => decodeTorchBin(legacyFile(pickle, storages, { header: legacyHeader({ magic: 0x1950a86a20f9469cfc6dn }) }), FILE)).toThrow(
      `${FILE}: not a torch.save checkpoint: its first pickle holds an int (119547037146038801333357), not torch's magic number`,
    );
    expect(() => decodeTorchBin(legacyFile(pickle, storages, { header: legacyHeader({ version: 1000 }) }), FILE)).toThrow(
      `${FILE}: torch.save legacy format version 1000; gbp reads version 1001, the only one torch wrote`,
    );
    expect(() => decodeTorchBin(legacyFile(pickle, storages, { header: legacyHeader({ littleEndian: false }) }), FILE)).toThrow(
      `${FILE}: the sys_info pickle at byte 21: little_endian is False: written on a big-endian machine; gbp reads checkpoints written on little-endian ones only (load it with torch and save it as model.safetensors)`,
    );
    const magicAndVersion = legacyHeader().subarray(0, 21);
    for (const [sysInfo, found] of [
      [new PickleWriter().proto().op(0x5d, 0x2e).bytes(), 'a list'],
      [new PickleWriter().proto().op(0x7d, 0x2e).bytes(), 'a dict without it'],
      [new PickleWriter().proto().op(0x7d).str('little_endian').int(1).op(0x73, 0x2e).bytes(), 'little_endian a number (1)'],
    ] as const) {
      expect(() => decodeTorchBin(Uint8Array.from([...magicAndVersion, ...sysInfo]), FILE)).toThrow(`${FILE}: the sys_info pickle at byte 21: expected a dict with little_endian True or False, found ${found}`);
    }
    // The original format: a tar archive (its header's "ustar" magic at byte 257).
    const tar = new Uint8Array(1024);
    tar.set(new TextEncoder().encode('storages'), 0);
    tar.set(new TextEncoder().encode('ustar\x0000'), 257);
    expect(() => decodeTorchBin(tar, FILE)).toThrow(`${FILE}: written in torch.save's original tar format (entries storages, tensors, pickle; torch before 0.4), which gbp does not read; re-save it with torch >= 1.6`);
  });

  it('refuses a truncated stream, a storage whose count disagrees with the state dict, and a key list that does not match the storages, naming the storage', () => {
    const pickle = stateDictPickle([{ name: 'w', storage: 'FloatStorage', key: '0', numel: 2, size: [2], stride: [1] }], { legacy: true });
    const whole = legacyFile(pickle, [{ key: '0', bytes: f32([1, 2]) }]);
    const dataAt = whole.length - 8;
    expect(() => decodeTorchBin(whole.subarray(0, whole.length - 1), FILE)).toThrow(
      `${FILE}: storage '0' (1 of 1) needs 8 bytes from byte ${dataAt}, the file ends at byte ${whole.length - 1}: the file is truncated`,
    );
    expect(() => decodeTorchBin(whole.subarray(0, dataAt - 3), FILE)).toThrow(
      `${FILE}: ends at byte ${dataAt - 3}, before the element count of storage '0' (1 of 1) at byte ${dataAt - 8}: the file is truncated`,
    );
    const stateAt = legacyHeader().length;
    // Byte positions count from the start of the file.
    expect(() => decodeTorchBin(whole.subarray(0, stateAt + 30), FILE)).toThrow(
      `${FILE}: the state dict pickle at byte ${stateAt}: ends without STOP: the pickle is truncated (pickle opcode end of data at byte ${stateAt + 30})`,
    );
    expect(() => decodeTorchBin(legacyFile(pickle, [{ key: '0', bytes: f32([1, 2, 3]) }]), FILE)).toThrow(
      `${FILE}: storage '0' (1 of 1) holds 3 elements at byte ${dataAt - 8}; the state dict says 2`,
    );
    expect(() => decodeTorchBin(legacyFile(pickle, [{ key: '0', bytes: f32([1, 2]) }], { keys: ['0', '5'] }), FILE)).toThrow(`lists storage '5', which the state dict does not use`);
    expect(() => decodeTorchBin(legacyFile(pickle, [], { keys: [] }), FILE)).toThrow(
      `${FILE}: the storage keys pickle at byte ${stateAt + pickle.length}: does not list storage '0', which the state dict uses: its data is missing`,
    );
  });
});

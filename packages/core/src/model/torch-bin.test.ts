/**
 * The torch.save zip reader on archives built here, opcode by opcode (no python, no torch): what a
 * state dict holds is read, anything that would run code is refused by name, and broken archives
 * are reported with the file and what is wrong.
 */
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { PickleWriter, stateDictPickle, zipArchive as archive, type TensorSpec } from './__fixtures__/torch-save.js';
import { decodeTorchBin } from './torch-bin.js';

const FILE = '/models/x/pytorch_model.bin';
const text = new TextEncoder();

const f32 = (values: readonly number[]) => new Uint8Array(Float32Array.from(values).buffer);
const u16 = (bits: readonly number[]) => new Uint8Array(Uint16Array.from(bits).buffer);

describe('decodeTorchBin', () => {
  it('reads F32, F16 and BF16 storages into float32 data with their dtype', () => {
    const pickle = stateDictPickle([
      { name: 'a.weight', storage: 'FloatStorage', key: '0', numel: 6, size: [2, 3], stride: [3, 1] },
      { name: 'b.half', storage: 'HalfStorage', key: '1', numel: 4, size: [4], stride: [1] },
      { name: 'c.bf16', storage: 'BFloat16Storage', key: '2', numel: 3, size: [3], stride: [1], parameter: true },
      { name: 'ids', storage: 'LongStorage', key: '3', numel: 2, size: [1, 2], stride: [2, 1] },
    ]);
    const tensors = decodeTorchBin(
      archive(pickle, {
        0: f32([1, 2, 3, 4, 5, 6]),
        // 1, -2, 65504 (the largest half), 2^-24 (the smallest subnormal half)
        1: u16([0x3c00, 0xc000, 0x7bff, 0x0001]),
        // 1, -3.140625, 2^-126
        2: u16([0x3f80, 0xc049, 0x0080]),
        3: new Uint8Array(16),
      }),
      FILE,
    );
    expect([...tensors.keys()]).toEqual(['a.weight', 'b.half', 'c.bf16', 'ids']);
    expect(tensors.get('a.weight')).toEqual({ dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
    expect(tensors.get('b.half')).toEqual({ dtype: 'F16', shape: [4], data: Float32Array.from([1, -2, 65504, 2 ** -24]) });
    expect(tensors.get('c.bf16')).toEqual({ dtype: 'BF16', shape: [3], data: Float32Array.from([1, -3.140625, 2 ** -126]) });
    // Not a float: handed back by dtype with no data, for the caller to ignore or refuse by name.
    expect(tensors.get('ids')).toEqual({ dtype: 'I64', shape: [1, 2], data: new Float32Array(0) });
  });

  it('honours storage offsets and strides: a transposed view and a slice sharing one storage', () => {
    const pickle = stateDictPickle([
      // storage[2 + i + 2j]: the transpose of the 3x2 block starting at element 2
      { name: 'transposed', storage: 'FloatStorage', key: '0', numel: 12, offset: 2, size: [2, 3], stride: [1, 2] },
      { name: 'slice', storage: 'FloatStorage', key: '0', numel: 12, offset: 9, size: [3], stride: [1] },
      { name: 'empty', storage: 'FloatStorage', key: '0', numel: 12, offset: 12, size: [0, 4], stride: [4, 1] },
    ]);
    const tensors = decodeTorchBin(archive(pickle, { 0: f32([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) }), FILE);
    expect(tensors.get('transposed')).toEqual({ dtype: 'F32', shape: [2, 3], data: Float32Array.from([2, 4, 6, 3, 5, 7]) });
    expect(tensors.get('slice')!.data).toEqual(Float32Array.from([9, 10, 11]));
    expect(tensors.get('empty')).toEqual({ dtype: 'F32', shape: [0, 4], data: new Float32Array(0) });
  });

  it("reads torch 2's forms: protocol 4 (FRAME, STACK_GLOBAL, MEMOIZE), an UntypedStorage with _rebuild_tensor_v3's dtype, any archive name", () => {
    const pickle = stateDictPickle(
      [
        { name: 'h', storage: 'UntypedStorage', key: '0', numel: 8, offset: 1, size: [3], stride: [1], dtype: 'float16' },
        { name: 'f', storage: 'UntypedStorage', key: '1', numel: 8, size: [2], stride: [1], dtype: 'float32', parameter: true },
      ],
      { modern: true },
    );
    const tensors = decodeTorchBin(archive(pickle, { 0: u16([0xffff, 0x3c00, 0x4000, 0xbc00]), 1: f32([0.5, -0.25]) }, { prefix: 'pytorch_model' }), FILE);
    expect(tensors.get('h')).toEqual({ dtype: 'F16', shape: [3], data: Float32Array.from([1, 2, -1]) });
    expect(tensors.get('f')).toEqual({ dtype: 'F32', shape: [2], data: Float32Array.from([0.5, -0.25]) });
  });

  it("reads state_dict()'s _metadata attribute (a BUILD of the OrderedDict) and a plain dict as state dicts, with their tensors only", () => {
    const tensor: TensorSpec = { name: 'w', storage: 'FloatStorage', key: '0', numel: 2, size: [2], stride: [1] };
    for (const options of [{ metadata: true }, { plainDict: true }, { plainDict: true, metadata: true }]) {
      for (const modern of [false, true]) {
        const tensors = decodeTorchBin(archive(stateDictPickle([tensor], { ...options, modern }), { 0: f32([3, 4]) }), FILE);
        expect([...tensors], JSON.stringify({ options, modern })).toEqual([['w', { dtype: 'F32', shape: [2], data: Float32Array.from([3, 4]) }]]);
      }
    }
  });

  it('shares the data of tied tensors, and refuses views that would copy a storage more than 4 times over (a memory bomb) before copying', () => {
    const view = (name: string, size: number[], stride: number[], offset = 0): TensorSpec => ({ name, storage: 'FloatStorage', key: '0', numel: 4, offset, size, stride });
    const storage = { 0: f32([1, 2, 3, 4]) };
    // The same view under five names (ties) is one copy: 16 bytes.
    const tied = decodeTorchBin(archive(stateDictPickle(['a', 'b', 'c', 'd', 'e'].map((name) => view(name, [4], [1]))), storage), FILE);
    expect(tied.get('e')!.data).toBe(tied.get('a')!.data);
    expect(tied.get('a')!.data).toEqual(Float32Array.from([1, 2, 3, 4]));
    // Distinct views of the 16-byte storage, 16 + 12 + 32 + 64 = 124 bytes (stride 0 repeats a row): refused.
    const bomb = stateDictPickle([view('a', [4], [1]), view('b', [3], [1], 1), view('c', [2, 4], [0, 1]), view('d', [4, 4], [0, 1])]);
    expect(() => decodeTorchBin(archive(bomb, storage), FILE)).toThrow(
      `${FILE}: its tensors view 124 bytes of storages holding 16: more than 4 times over, which no state dict does; refusing to materialise them`,
    );
  });

  it('refuses a pickle global outside the allow-list by name, at the global, before anything calls it (GLOBAL os.system, STACK_GLOBAL builtins.eval)', () => {
    const system = new PickleWriter().proto().global('os', 'system').str('touch /tmp/gbp-pwned').op(0x85, 0x52, 0x2e).bytes();
    expect(() => decodeTorchBin(archive(system, {}), FILE)).toThrow(`${FILE}: refuses to load pickle global os.system: gbp reads tensor storages only`);
    // Names Object.prototype has are not storage types or dtypes.
    for (const name of ['constructor', '__proto__', 'toString']) {
      const proto = new PickleWriter().proto().global('torch', name).op(0x2e).bytes();
      expect(() => decodeTorchBin(archive(proto, {}), FILE)).toThrow(`${FILE}: refuses to load pickle global torch.${name}: gbp reads tensor storages only`);
    }
    const evil = new PickleWriter(true).proto().global('builtins', 'eval').str('1+1').op(0x85, 0x52, 0x2e).bytes();
    expect(() => decodeTorchBin(archive(evil, {}), FILE)).toThrow(`${FILE}: refuses to load pickle global builtins.eval: gbp reads tensor storages only`);
  });

  it('refuses REDUCE on what is not an allowed callable (a storage type, a string), NEWOBJ, and BUILD on a tensor', () => {
    const storageCall = new PickleWriter().proto().global('torch', 'FloatStorage').op(0x29, 0x52, 0x2e).bytes();
    expect(() => decodeTorchBin(archive(storageCall, {}), FILE)).toThrow(`${FILE}: refuses to call torch.FloatStorage (pickle REDUCE): gbp reads tensor storages only`);
    const stringCall = new PickleWriter().proto().str('os.system').op(0x29, 0x52, 0x2e).bytes();
    expect(() => decodeTorchBin(archive(stringCall, {}), FILE)).toThrow(`${FILE}: refuses to call a string ("os.system") (pickle REDUCE)`);
    const newobj = new PickleWriter().proto().global('collections', 'OrderedDict').op(0x29, 0x81, 0x2e).bytes();
    expect(() => decodeTorchBin(archive(newobj, {}), FILE)).toThrow(`${FILE}: refuses to call collections.OrderedDict (pickle NEWOBJ)`);
    const tensorThenBuild = stateDictPickle([{ name: 't', storage: 'FloatStorage', key: '0', numel: 1, size: [1], stride: [1] }]);
    // Replace the final SETITEMS+STOP with: BUILD the last tensor (still on the stack) from an empty dict.
    const build = Uint8Array.from([...tensorThenBuild.subarray(0, -2), 0x7d, 0x62, 0x2e]);
    expect(() => decodeTorchBin(archive(build, { 0: f32([1]) }), FILE)).toThrow(`${FILE}: refuses to set the state of a tensor to a dict (pickle BUILD)`);
  });

  it('refuses an opcode outside the state-dict set (INST) and a persistent id that is not a storage, naming the opcode or id', () => {
    const inst = new PickleWriter().proto().op(0x69, ...text.encode('os\nsystem\n'), 0x2e).bytes();
    expect(() => decodeTorchBin(archive(inst, {}), FILE)).toThrow(`${FILE}: archive/data.pkl: an opcode gbp does not read: a torch.save state dict uses only protocol 2-5 data opcodes (pickle opcode 0x69 at byte 2)`);
    const pid = new PickleWriter().proto().str('tensor').op(0x85, 0x51, 0x2e).bytes();
    expect(() => decodeTorchBin(archive(pid, {}), FILE)).toThrow(`${FILE}: refuses to load persistent id a tuple: gbp reads tensor storages only`);
    // What torch.save(model) writes for the model's class: named as such.
    const module = new PickleWriter().proto().str('module').op(0x85, 0x51, 0x2e).bytes();
    expect(() => decodeTorchBin(archive(module, {}), FILE)).toThrow(
      `${FILE}: refuses to load persistent id ('module', ...), a pickled nn.Module (torch.save(model) rather than torch.save(model.state_dict())): gbp reads tensor storages only`,
    );
  });

  it('reports a truncated zip, a zip without data.pkl, a truncated data.pkl, a missing or short storage, a big-endian archive and a file in neither torch.save format, naming the file', () => {
    const pickle = stateDictPickle([{ name: 'enc.weight', storage: 'FloatStorage', key: '0', numel: 4, size: [2, 2], stride: [2, 1] }]);
    const whole = archive(pickle, { 0: f32([1, 2, 3, 4]) });
    expect(decodeTorchBin(whole, FILE).get('enc.weight')!.data).toEqual(Float32Array.from([1, 2, 3, 4]));

    expect(() => decodeTorchBin(whole.subarray(0, whole.length - 30), FILE)).toThrow(new RegExp(`^${FILE}: not a readable zip archive \\(.+\\): the file may be truncated or damaged$`));
    expect(() => decodeTorchBin(zipSync({ 'archive/weights': f32([1]) }), FILE)).toThrow(
      `${FILE}: no <archive>/data.pkl in the zip (entries: archive/weights): not a checkpoint torch.save wrote`,
    );
    expect(() => decodeTorchBin(archive(pickle.subarray(0, 40), {}), FILE)).toThrow(
      `${FILE}: archive/data.pkl: ends after 40 bytes, in the middle of an opcode: the pickle is truncated (pickle opcode BINUNICODE at byte 30)`,
    );
    expect(() => decodeTorchBin(archive(pickle.subarray(0, -1), { 0: f32([1, 2, 3, 4]) }), FILE)).toThrow(
      `${FILE}: archive/data.pkl: ends without STOP: the pickle is truncated`,
    );
    expect(() => decodeTorchBin(archive(pickle, {}), FILE)).toThrow(
      `${FILE}: no archive/data/0 in the zip for storage '0' that data.pkl refers to: the archive is incomplete`,
    );
    expect(() => decodeTorchBin(archive(pickle, { 0: f32([1, 2, 3]) }), FILE)).toThrow(
      `${FILE}: tensor 'enc.weight' of shape [2, 2] (storage offset 0, strides [2, 1]) needs 4 F32 values, storage '0' holds 3`,
    );
    expect(() => decodeTorchBin(archive(pickle, { 0: f32([1, 2, 3, 4]) }, { byteorder: 'big' }), FILE)).toThrow(
      `${FILE}: archive/byteorder says 'big'; gbp reads little-endian checkpoints only`,
    );
    const twoTypes = stateDictPickle([
      { name: 'a', storage: 'FloatStorage', key: '0', numel: 4, size: [4], stride: [1] },
      { name: 'b', storage: 'HalfStorage', key: '0', numel: 8, size: [8], stride: [1] },
    ]);
    expect(() => decodeTorchBin(archive(twoTypes, { 0: f32([1, 2, 3, 4]) }), FILE)).toThrow(`${FILE}: storage '0' is named as F32 and as F16`);
    // Archives of torch < 2.1 have no byteorder entry: little-endian.
    expect(decodeTorchBin(archive(pickle, { 0: f32([1, 2, 3, 4]) }, { byteorder: null }), FILE).size).toBe(1);
    expect(() => decodeTorchBin(text.encode('{"not": "a checkpoint"}'), FILE)).toThrow(
      `${FILE}: not a torch.save checkpoint: it starts with neither a zip header (torch >= 1.6 writes a zip archive) nor a pickle (the legacy format before it)`,
    );
  });

  it('refuses a pickle that is not a state dict of tensors, naming the entry', () => {
    const nested = new PickleWriter().proto().op(0x7d).str('model').op(0x7d, 0x73, 0x2e).bytes();
    expect(() => decodeTorchBin(archive(nested, {}), FILE)).toThrow(`${FILE}: archive/data.pkl: entry 'model' is a dict, not a tensor (gbp reads a state dict: tensors by name)`);
    const list = new PickleWriter().proto().op(0x5d, 0x2e).bytes();
    expect(() => decodeTorchBin(archive(list, {}), FILE)).toThrow(`${FILE}: archive/data.pkl holds a list, not a state dict`);
  });
});

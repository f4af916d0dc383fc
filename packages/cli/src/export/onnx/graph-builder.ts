/**
 * A small ONNX graph under construction: nodes in order, initializers (weights and constants) and
 * unique value names. Ops are added by name with their attributes; the BERT graph is built on it.
 */
import { toFloat16Bits } from '@gbp/core/internal';
import { ATTRIBUTE_TYPE, ONNX_DTYPE, type AttributeObject, type NodeObject, type TensorProtoObject } from './proto.js';

export type Attribute = number | readonly number[] | { float: number };

/** How weights are stored in the file; the graph computes in float32 either way. */
export type WeightDtype = 'float32' | 'float16';

const bytesOf = (array: ArrayBufferView): Uint8Array => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);

export class GraphBuilder {
  readonly nodes: NodeObject[] = [];
  readonly initializers: TensorProtoObject[] = [];
  private readonly used = new Set<string>();
  private readonly constants = new Map<string, string>();

  /** A name not used yet, from `base`. */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /**
   * An initializer named `name` (a weight: its gbp name) and the float32 value to compute with: the
   * initializer itself, or for float16 a Cast of it (constant, so runtimes fold it when loading).
   */
  weight(name: string, dims: readonly number[], data: Float32Array, dtype: WeightDtype = 'float32'): string {
    const id = this.fresh(name);
    if (dtype === 'float32') {
      this.initializers.push({ name: id, dims: [...dims], data_type: ONNX_DTYPE.float32, raw_data: bytesOf(data) });
      return id;
    }
    const { bits, overflow } = toFloat16Bits(data);
    if (overflow !== undefined) {
      throw new Error(`ONNX export: tensor '${name}' holds ${data[overflow]} at index ${overflow}, outside float16's range (largest 65504); export it as float32`);
    }
    this.initializers.push({ name: id, dims: [...dims], data_type: ONNX_DTYPE.float16, raw_data: bytesOf(bits) });
    return this.op('Cast', [id], `${id}_float32`, { to: ONNX_DTYPE.float32 });
  }

  /** A float32 scalar constant, shared between equal uses. */
  scalar(name: string, value: number): string {
    const key = `f32:${value}`;
    const existing = this.constants.get(key);
    if (existing !== undefined) return existing;
    const id = this.weight(name, [], Float32Array.of(value));
    this.constants.set(key, id);
    return id;
  }

  /** An int64 tensor constant ([] dims: a scalar), shared between equal uses. */
  int64(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `${dims.join('x')}:${values.join(',')}`;
    const existing = this.constants.get(key);
    if (existing !== undefined) return existing;
    const id = this.fresh(name);
    this.initializers.push({ name: id, dims: [...dims], data_type: ONNX_DTYPE.int64, raw_data: bytesOf(BigInt64Array.from(values, BigInt)) });
    this.constants.set(key, id);
    return id;
  }

  /** Adds a node `op` reading `inputs`; returns its output's name (from `output`). */
  op(op: string, inputs: readonly string[], output: string, attributes: Readonly<Record<string, Attribute>> = {}): string {
    const out = this.fresh(output);
    const attribute = Object.entries(attributes).map(([name, value]): AttributeObject => {
      if (typeof value === 'number') return { name, type: ATTRIBUTE_TYPE.int, i: value };
      if ('float' in value) return { name, type: ATTRIBUTE_TYPE.float, f: value.float };
      return { name, type: ATTRIBUTE_TYPE.ints, ints: [...value] };
    });
    this.nodes.push({ op_type: op, name: `${op}:${out}`, input: [...inputs], output: [out], ...(attribute.length > 0 && { attribute }) });
    return out;
  }
}

/**
 * ONNX's ModelProto, encoded with protobufjs from the official onnx.proto (vendored in
 * assets/onnx): the schema is ONNX's own, read at run time, so no generated code can drift from it
 * and no wire format is written by hand.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export const ONNX_PROTO_FILE = fileURLToPath(new URL('../../../assets/onnx/onnx.proto', import.meta.url));

/** TensorProto.DataType values used here. */
export const ONNX_DTYPE = { float32: 1, int64: 7, float16: 10 } as const;

/** A TensorProto in protobufjs's object form (raw_data little-endian). */
export interface TensorProtoObject {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

export interface AttributeObject {
  name: string;
  type: number;
  i?: number;
  f?: number;
  ints?: number[];
}

export interface NodeObject {
  op_type: string;
  name: string;
  input: string[];
  output: string[];
  attribute?: AttributeObject[];
}

/** AttributeProto.AttributeType values used here. */
export const ATTRIBUTE_TYPE = { float: 1, int: 2, ints: 7 } as const;

/** A ValueInfoProto: a graph input or output, its element type and named (dynamic) or fixed dimensions. */
export interface ValueInfoObject {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: ({ dim_param: string } | { dim_value: number })[] } } };
}

export interface ModelObject {
  ir_version: number;
  opset_import: { domain: string; version: number }[];
  producer_name: string;
  producer_version: string;
  doc_string?: string;
  graph: {
    name: string;
    node: NodeObject[];
    initializer: TensorProtoObject[];
    input: ValueInfoObject[];
    output: ValueInfoObject[];
  };
  metadata_props?: { key: string; value: string }[];
}

let modelType: protobuf.Type | undefined;

/** onnx.ModelProto from the vendored schema (parsed once). */
export function modelProtoType(): protobuf.Type {
  // keepCase: field names as onnx.proto spells them (opset_import), not protobufjs's camelCase.
  modelType ??= new protobuf.Root().loadSync(ONNX_PROTO_FILE, { keepCase: true }).lookupType('onnx.ModelProto');
  return modelType;
}

/** The model's bytes (a .onnx file); errors name the field protobufjs refused. */
export function encodeModel(model: ModelObject): Uint8Array {
  const type = modelProtoType();
  const message = type.fromObject(model);
  const problem = type.verify(message);
  if (problem !== null) throw new Error(`ONNX export: the model does not fit onnx.ModelProto: ${problem}`);
  return type.encode(message).finish();
}

/** The model back from its bytes, as plain objects (tests read the graph with it). */
export function decodeModel(bytes: Uint8Array): ModelObject {
  const type = modelProtoType();
  return type.toObject(type.decode(bytes), { longs: Number, bytes: Array, defaults: false }) as ModelObject;
}

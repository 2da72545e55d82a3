import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { InvalidInputError } from '../schema/errors.ts';

/** A dim of a declared shape: a size, a symbolic name (`dim_param`), or unknown. */
export type OnnxDim = number | string | null;

export interface OnnxValueInfo {
  readonly name: string;
  /** TensorProto.DataType; 0 when the file does not say. */
  readonly elemType: number;
  /** Null when the file declares no shape. */
  readonly shape: readonly OnnxDim[] | null;
}

/** A tensor stored in the file (an initializer or a Constant's value). */
export interface OnnxTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly dataType: number;
  /** Its elements when the file holds them and they are few (shapes, axes, scalars); else null. */
  readonly values: readonly number[] | null;
}

export type OnnxAttribute = number | string | readonly number[] | OnnxTensor;

export interface OnnxNode {
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: ReadonlyMap<string, OnnxAttribute>;
}

export interface OnnxModel {
  /** Version of the default ("ai.onnx") operator set. */
  readonly opset: number;
  readonly name: string;
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly initializers: readonly OnnxTensor[];
  readonly valueInfo: readonly OnnxValueInfo[];
  readonly nodes: readonly OnnxNode[];
}

/** Operator sets whose semantics the importer follows (those torch.onnx.export writes by default). */
const OPSETS = { min: 13, max: 17 } as const;

/** Stored elements read back: enough for shapes, axes and scalars, never a weight matrix. */
const MAX_VALUES = 4096;

// The ONNX schema itself, vendored from the ONNX project (Apache-2.0, header kept in the file).
const ModelProto = protobuf
  .parse(readFileSync(new URL('./onnx.proto', import.meta.url), 'utf8'), { keepCase: false })
  .root.lookupType('onnx.ModelProto');

/** The plain-object form protobufjs produces with `longs: Number`; fields absent when unset. */
interface RawTensor {
  name?: string;
  dims?: number[];
  dataType?: number;
  int64Data?: number[];
  int32Data?: number[];
  floatData?: number[];
  doubleData?: number[];
  rawData?: Uint8Array;
}
interface RawValueInfo {
  name?: string;
  type?: {
    tensorType?: { elemType?: number; shape?: { dim?: { dimValue?: number; dimParam?: string }[] } };
  };
}
interface RawAttribute {
  name?: string;
  type?: number;
  i?: number;
  f?: number;
  s?: Uint8Array;
  ints?: number[];
  floats?: number[];
  t?: RawTensor;
}
interface RawModel {
  opsetImport?: { domain?: string; version?: number }[];
  graph?: {
    name?: string;
    node?: {
      name?: string;
      opType?: string;
      domain?: string;
      input?: string[];
      output?: string[];
      attribute?: RawAttribute[];
    }[];
    initializer?: RawTensor[];
    input?: RawValueInfo[];
    output?: RawValueInfo[];
    valueInfo?: RawValueInfo[];
  };
}

/** TensorProto.DataType codes the reader decodes from raw bytes: their element readers. */
const RAW_READERS: Readonly<Record<number, { bytes: number; read: (v: DataView, at: number) => number }>> = {
  1: { bytes: 4, read: (v, at) => v.getFloat32(at, true) },
  6: { bytes: 4, read: (v, at) => v.getInt32(at, true) },
  7: { bytes: 8, read: (v, at) => Number(v.getBigInt64(at, true)) },
  9: { bytes: 1, read: (v, at) => v.getUint8(at) },
  11: { bytes: 8, read: (v, at) => v.getFloat64(at, true) },
};

function tensorOf(raw: RawTensor): OnnxTensor {
  const dims = raw.dims ?? [];
  const count = dims.reduce((p, d) => p * d, 1);
  let values: number[] | null = null;
  const listed = [raw.int64Data, raw.int32Data, raw.floatData, raw.doubleData].find(
    (list) => list !== undefined && list.length > 0,
  );
  if (listed !== undefined && listed.length <= MAX_VALUES) values = listed;
  const reader = RAW_READERS[raw.dataType ?? 0];
  if (
    values === null &&
    raw.rawData !== undefined &&
    raw.rawData.length > 0 &&
    reader &&
    count <= MAX_VALUES
  ) {
    const view = new DataView(raw.rawData.buffer, raw.rawData.byteOffset, raw.rawData.byteLength);
    if (raw.rawData.byteLength >= count * reader.bytes) {
      values = Array.from({ length: count }, (_, i) => reader.read(view, i * reader.bytes));
    }
  }
  return { name: raw.name ?? '', dims, dataType: raw.dataType ?? 0, values };
}

function valueInfoOf(raw: RawValueInfo): OnnxValueInfo {
  const tensor = raw.type?.tensorType;
  const dims = tensor?.shape?.dim;
  return {
    name: raw.name ?? '',
    elemType: tensor?.elemType ?? 0,
    shape:
      dims === undefined && tensor?.shape === undefined
        ? null
        : (dims ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined ? d.dimValue : null)),
  };
}

function attributeOf(raw: RawAttribute): OnnxAttribute {
  if (raw.t !== undefined) return tensorOf(raw.t);
  if (raw.ints !== undefined && raw.ints.length > 0) return raw.ints;
  if (raw.floats !== undefined && raw.floats.length > 0) return raw.floats;
  if (raw.s !== undefined && raw.s.length > 0) return new TextDecoder().decode(raw.s);
  // AttributeType INTS/FLOATS with no element is an empty list, not a zero.
  if (raw.type === 7 || raw.type === 6) return [];
  return raw.i ?? raw.f ?? 0;
}

function bad(message: string): InvalidInputError {
  return new InvalidInputError([{ path: 'model', message }], 'ONNX model');
}

/**
 * Decodes an ONNX file (a ModelProto) with protobufjs and the ONNX schema. Bytes that are not a
 * ModelProto (another file, a truncated download) and models outside the supported operator sets
 * are bad input, named as such.
 */
export function readOnnx(bytes: Uint8Array): OnnxModel {
  let raw: RawModel;
  try {
    raw = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as RawModel;
  } catch (error) {
    throw bad(`not a readable ONNX file (truncated or another format): ${(error as Error).message}`);
  }
  const graph = raw.graph;
  if (graph === undefined || (graph.node ?? []).length === 0)
    throw bad('not an ONNX model: the file holds no graph with nodes');
  const opset = (raw.opsetImport ?? []).find(
    (o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx',
  )?.version;
  if (opset === undefined) throw bad('the model imports no default (ai.onnx) operator set');
  if (opset < OPSETS.min || opset > OPSETS.max)
    throw bad(
      `operator set ${opset} is not supported: export with opset_version ${OPSETS.min}–${OPSETS.max}`,
    );
  return {
    opset,
    name: graph.name ?? 'onnx',
    inputs: (graph.input ?? []).map(valueInfoOf),
    outputs: (graph.output ?? []).map(valueInfoOf),
    initializers: (graph.initializer ?? []).map(tensorOf),
    valueInfo: (graph.valueInfo ?? []).map(valueInfoOf),
    nodes: (graph.node ?? []).map((n, i) => ({
      name: n.name || `${n.opType ?? 'node'}_${i}`,
      opType: n.opType ?? '',
      domain: n.domain ?? '',
      inputs: n.input ?? [],
      outputs: n.output ?? [],
      attributes: new Map((n.attribute ?? []).map((a) => [a.name ?? '', attributeOf(a)])),
    })),
  };
}

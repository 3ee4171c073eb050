/**
 * A Keras model config (Sequential or functional, Keras 2 / tf.keras / Keras 3 / TF.js flavours)
 * -> the imported layer graph: layers in topological order with their inputs and shapes, plus the
 * weight slots each layer expects. Weights are attached afterwards by the format's reader.
 */
import type { ImportedLayer, ImportedModel, ModelFormat, Shape } from '../ir/types';
import { inferOutputShape } from '../ir/shapes';
import { DeepMakerError, isDeepMakerError } from '../util/errors';
import { convertKerasLayer, ConversionContext, KerasLayerJson, LayerConversion, WeightSlot, WeightSource } from './keras-layers';

export interface KerasGraph {
  model: ImportedModel;
  /** Weight slots per layer name, in Keras's order. */
  slots: Map<string, WeightSlot[]>;
  /** Where a layer's weights are stored when not under its own name (wrapped and recurrent layers). */
  sources: Map<string, WeightSource>;
  /** Every layer name in config order (the order Keras 3 walks to name its weight groups). */
  configOrder: { name: string; className: string }[];
}

interface TensorRef {
  layer: string;
  node: number;
  tensor: number;
}

/** The model config at the top of a Keras JSON / HDF5 `model_config` / TF.js `modelTopology`. */
export function parseModelConfig(json: any, source: { format: ModelFormat; file: string }, kerasVersion?: string): KerasGraph {
  const topology = json?.model_config ?? json;
  if (!topology || typeof topology !== 'object' || typeof topology.class_name !== 'string') {
    throw new DeepMakerError('the model config has no class_name; this is not a Keras model config', { file: source.file });
  }
  const version = kerasVersion ?? json.keras_version ?? topology.keras_version;
  const keras3 = /^3\./.test(String(version ?? '')) || 'module' in topology;
  const ctx: ConversionContext = { file: source.file, keras3 };
  const cls = topology.class_name;
  let layersJson: KerasLayerJson[];
  let graph: { layers: ImportedLayer[]; inputs: string[]; outputs: string[]; slots: Map<string, WeightSlot[]>; sources: Map<string, WeightSource>; order: { name: string; className: string }[] };
  if (cls === 'Sequential') {
    const cfg = topology.config;
    layersJson = Array.isArray(cfg) ? cfg : cfg?.layers;
    if (!Array.isArray(layersJson)) throw new DeepMakerError('Sequential config has no layer list', { file: source.file });
    graph = sequential(layersJson, cfg?.build_input_shape, ctx);
  } else if (cls === 'Model' || cls === 'Functional') {
    graph = functional(topology.config, ctx);
  } else {
    throw new DeepMakerError(`the model class '${cls}' is not supported (Sequential, Model, Functional)`, { file: source.file }, 'a subclassed Keras model has no config to convert: rebuild it with the Sequential or functional API');
  }
  checkModelSize(graph.layers, source.file);
  const name = String(topology.config?.name ?? 'model');
  return {
    model: {
      name,
      source: { format: source.format, file: source.file, ...(version ? { kerasVersion: String(version) } : {}) },
      layers: graph.layers,
      inputs: graph.inputs,
      outputs: graph.outputs,
    },
    slots: graph.slots,
    sources: graph.sources,
    configOrder: graph.order,
  };
}

/** An input shape from `batch_input_shape` / `batch_shape` / `input_shape`; null dimensions are rejected. */
function inputShapeOf(cfg: Record<string, any>, name: string, file: string): Shape | undefined {
  let shape: unknown[] | undefined;
  if (Array.isArray(cfg.batch_input_shape)) shape = cfg.batch_input_shape.slice(1);
  else if (Array.isArray(cfg.batch_shape)) shape = cfg.batch_shape.slice(1);
  else if (Array.isArray(cfg.input_shape)) shape = cfg.input_shape;
  if (!shape) return undefined;
  if (shape.some((d) => typeof d !== 'number' || d <= 0)) {
    throw new DeepMakerError(`input '${name}' has shape [${shape.map((d) => (d === null ? 'None' : d)).join(', ')}]; every dimension must be known`, { file, where: name }, 'give the model a fixed input shape (e.g. Input(shape=(28, 28, 1))) and save it again');
  }
  if (shape.some((d) => !Number.isSafeInteger(d))) {
    throw new DeepMakerError(`input '${name}' has shape [${shape.join(', ')}]; every dimension must be a whole number`, { file, where: name }, 'the model config is corrupt; save the model again');
  }
  checkTensorSize(`input '${name}'`, shape as Shape, name, file);
  return shape as Shape;
}

/**
 * The most values the generated C holds: each layer's output is a static array of 32-bit values
 * (float or fixed point) indexed with `long`, which is 32 bits on 32-bit targets and on Windows,
 * and the usual toolchains place at most 2 GiB of static data. An FPGA or a microcontroller holds
 * far less; this bound only keeps the C compilable and the messages honest.
 */
export const MAX_MODEL_VALUES = 2 ** 29 - 1;

const DEVICE_HINT = 'an FPGA or a microcontroller holds far less (the iCE40 UP5K: 128 KiB of SPRAM and 15 KiB of block RAM); make the input smaller (resize the images, shorten the window) or the layers narrower';
const figure = (n: number) => n.toLocaleString('en-US');

function checkTensorSize(what: string, shape: Shape, where: string, file: string): void {
  const values = shape.reduce((a, b) => a * b, 1);
  if (values > MAX_MODEL_VALUES) {
    throw new DeepMakerError(
      `${what} has shape ${shape.join('x')} = ${figure(values)} values; the generated C holds at most ${figure(MAX_MODEL_VALUES)} values (2 GiB of 32-bit values) for all layer outputs together`,
      { file, where },
      DEVICE_HINT,
    );
  }
}

/** All layer outputs together (the C's static buffers) within MAX_MODEL_VALUES. */
function checkModelSize(layers: ImportedLayer[], file: string): void {
  let total = 0;
  let largest: ImportedLayer | undefined;
  const size = (l: ImportedLayer) => l.outputShape.reduce((a, b) => a * b, 1);
  for (const l of layers) {
    total += size(l);
    if (!largest || size(l) > size(largest)) largest = l;
  }
  if (total > MAX_MODEL_VALUES && largest) {
    throw new DeepMakerError(
      `the outputs of the model's ${layers.length} layers add up to ${figure(total)} values (the largest: '${largest.name}', ${largest.outputShape.join('x')} = ${figure(size(largest))}); the generated C holds at most ${figure(MAX_MODEL_VALUES)} values (2 GiB of 32-bit values)`,
      { file },
      DEVICE_HINT,
    );
  }
}

function inputLayer(name: string, shape: Shape): ImportedLayer {
  return { name, type: 'input', inputs: [], inputShapes: [], outputShape: shape, activation: { kind: 'linear' }, weights: {}, kerasClass: 'InputLayer' };
}

function withShape(layer: ReturnType<typeof convertKerasLayer>['layer'], inputs: string[], inputShapes: Shape[], file: string): ImportedLayer {
  const l = { ...layer, inputs, inputShapes, outputShape: [] as Shape } as ImportedLayer;
  try {
    l.outputShape = inferOutputShape(l, inputShapes);
  } catch (e) {
    throw new DeepMakerError(`layer '${l.name}' (${l.kerasClass}) ${(e as Error).message}`, { file, where: l.name });
  }
  // Keras's keepdims global pooling: resolve the -1 placeholder to the channel count.
  if (l.targetShape && l.type.startsWith('global_')) l.targetShape = l.targetShape.map((v) => (v === -1 ? inputShapes[0][inputShapes[0].length - 1] : v));
  if (l.type.startsWith('global_') && l.targetShape) l.outputShape = l.targetShape;
  if (l.type === 'concatenate') l.axis = (l.axis ?? -1) < 0 ? l.axis : l.axis! - 1 - inputShapes[0].length;
  if (l.kerasClass === 'Softmax') {
    const axis = l.axis ?? -1;
    if (axis !== -1 && axis !== inputShapes[0].length) {
      throw new DeepMakerError(`layer '${l.name}' (Softmax): axis ${axis} is not the last axis of its input [batch, ${inputShapes[0].join(', ')}] (only the last axis is supported)`, { file, where: l.name });
    }
    delete l.axis;
  }
  if (l.outputShape.some((d) => !(d > 0))) {
    throw new DeepMakerError(`layer '${l.name}' (${l.kerasClass}) has an empty output [${l.outputShape.join(',')}] for input [${inputShapes[0]?.join(',')}]`, { file, where: l.name }, 'the kernel or pool is larger than its input');
  }
  if (l.outputShape.some((d) => !Number.isSafeInteger(d))) {
    throw new DeepMakerError(`layer '${l.name}' (${l.kerasClass}) has an output [${l.outputShape.join(',')}] whose dimensions are not whole numbers`, { file, where: l.name }, 'the model config is corrupt (a units, filters or shape value); save the model again');
  }
  checkTensorSize(`layer '${l.name}' (${l.kerasClass})`, l.outputShape, l.name, file);
  return l;
}

/**
 * Adds a converted Keras layer (and the inner layers it expands to, which read the same inputs) to
 * the graph; returns the layer that stands for the Keras layer (its readers read it).
 */
function place(conv: LayerConversion, inputs: ImportedLayer[], file: string, layers: ImportedLayer[], slots: Map<string, WeightSlot[]>, sources: Map<string, WeightSource>): ImportedLayer {
  const ins = conv.inner ? conv.inner.map((c) => place(c, inputs, file, layers, slots, sources)) : inputs;
  const layer = withShape(conv.layer, ins.map((l) => l.name), ins.map((l) => l.outputShape), file);
  if (layers.some((l) => l.name === layer.name)) throw new DeepMakerError(`two layers are named '${layer.name}'`, { file, where: layer.name }, 'layer names must be unique; the model config is corrupt or was edited');
  layers.push(layer);
  slots.set(layer.name, conv.slots);
  if (conv.source) sources.set(layer.name, conv.source);
  return layer;
}

/**
 * convertKerasLayer, with a config the converter cannot read (a field missing or of the wrong
 * type: a corrupt or hand-edited file) reported as such, naming the layer and the file.
 */
function convertLayer(lj: KerasLayerJson, ctx: ConversionContext): ReturnType<typeof convertKerasLayer> {
  try {
    return convertKerasLayer(lj, ctx);
  } catch (e) {
    if (isDeepMakerError(e) || !(e instanceof TypeError || e instanceof RangeError)) throw e;
    const name = String(lj.config?.name ?? lj.name);
    throw new DeepMakerError(`layer '${name}' (${lj.class_name}) has a config this tool cannot read: ${e.message}`, { file: ctx.file, where: name }, 'the model config is corrupt or was edited; save the model again');
  }
}

function sequential(layersJson: KerasLayerJson[], buildInputShape: unknown, ctx: ConversionContext) {
  const layers: ImportedLayer[] = [];
  const slots = new Map<string, WeightSlot[]>();
  const sources = new Map<string, WeightSource>();
  const order: { name: string; className: string }[] = [];
  let prev: ImportedLayer | undefined;
  for (const lj of layersJson) {
    if (!lj || typeof lj !== 'object') throw new DeepMakerError(`the Sequential model's layer list holds ${JSON.stringify(lj)?.slice(0, 80)}, not a layer`, { file: ctx.file });
    const cfg = lj.config ?? {};
    const name = String(cfg.name ?? lj.name);
    order.push({ name, className: lj.class_name });
    if (lj.class_name === 'InputLayer') {
      const shape = inputShapeOf(cfg, name, ctx.file);
      if (!shape) throw new DeepMakerError(`input '${name}' has no shape`, { file: ctx.file, where: name });
      prev = inputLayer(name, shape);
      layers.push(prev);
      continue;
    }
    if (!prev) {
      const shape = inputShapeOf(cfg, name, ctx.file) ?? (Array.isArray(buildInputShape) ? inputShapeOf({ batch_input_shape: buildInputShape }, name, ctx.file) : undefined);
      if (!shape) throw new DeepMakerError(`the first layer '${name}' declares no input shape`, { file: ctx.file, where: name }, 'build the model with an Input layer or input_shape= on its first layer, then save it again');
      prev = inputLayer(`${name}_input`, shape);
      layers.push(prev);
    }
    prev = place(convertLayer(lj, ctx), [prev], ctx.file, layers, slots, sources);
  }
  if (!prev) throw new DeepMakerError('the Sequential model has no layers', { file: ctx.file });
  return { layers, inputs: [layers[0].name], outputs: [prev.name], slots, sources, order };
}

/** Keras 2: [[name, node, tensor, kwargs], ...] per node. Keras 3: [{args: [...], kwargs}] with __keras_tensor__ objects. */
function inboundRefs(lj: KerasLayerJson, ctx: ConversionContext, name: string): TensorRef[] {
  const nodes = lj.inbound_nodes ?? [];
  if (nodes.length === 0) return [];
  if (nodes.length > 1) {
    throw new DeepMakerError(`layer '${name}' is called ${nodes.length} times (a shared layer), which is not supported`, { file: ctx.file, where: name }, 'give each call its own layer');
  }
  const node = nodes[0] as any;
  const refs: TensorRef[] = [];
  const visit = (v: any) => {
    if (Array.isArray(v)) {
      if (v.length >= 3 && typeof v[0] === 'string' && typeof v[1] === 'number') refs.push({ layer: v[0], node: v[1], tensor: v[2] });
      else v.forEach(visit);
    } else if (v && typeof v === 'object' && v.class_name === '__keras_tensor__') {
      const h = v.config?.keras_history;
      if (!Array.isArray(h) || typeof h[0] !== 'string' || typeof h[1] !== 'number' || typeof h[2] !== 'number') {
        throw new DeepMakerError(`layer '${name}' has an input tensor whose keras_history is ${JSON.stringify(h)?.slice(0, 80)}, not [layer, node, tensor]`, { file: ctx.file, where: name }, 'the model config is corrupt; save the model again');
      }
      refs.push({ layer: h[0], node: h[1], tensor: h[2] });
    }
  };
  if (Array.isArray(node)) visit(node);
  else if (node && typeof node === 'object') visit(node.args ?? []);
  return refs;
}

/** `input_layers` / `output_layers`: [[name, node, tensor], ...], or a single [name, node, tensor] (Keras 3). */
function endpointNames(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  if (v.length >= 3 && typeof v[0] === 'string' && typeof v[1] === 'number') return [v[0]];
  return v.map((e: any) => (Array.isArray(e) ? String(e[0]) : String(e)));
}

function functional(cfg: any, ctx: ConversionContext) {
  const layersJson: KerasLayerJson[] = cfg?.layers;
  if (!Array.isArray(layersJson)) throw new DeepMakerError('the functional model config has no layer list', { file: ctx.file });
  const byName = new Map<string, KerasLayerJson>();
  for (const lj of layersJson) {
    if (!lj || typeof lj !== 'object') throw new DeepMakerError(`the functional model's layer list holds ${JSON.stringify(lj)?.slice(0, 80)}, not a layer`, { file: ctx.file });
    const n = String(lj.name ?? lj.config?.name);
    if (byName.has(n)) throw new DeepMakerError(`two layers are named '${n}'`, { file: ctx.file, where: n }, 'layer names must be unique; the model config is corrupt or was edited');
    byName.set(n, lj);
  }
  const order = layersJson.map((lj) => ({ name: String(lj.name ?? lj.config?.name), className: lj.class_name }));
  const built = new Map<string, ImportedLayer>();
  const slots = new Map<string, WeightSlot[]>();
  const sources = new Map<string, WeightSource>();
  const layers: ImportedLayer[] = [];
  const visiting = new Set<string>();
  const build = (name: string): ImportedLayer => {
    const done = built.get(name);
    if (done) return done;
    const lj = byName.get(name);
    if (!lj) throw new DeepMakerError(`the model config refers to a layer '${name}' that it does not define`, { file: ctx.file });
    if (visiting.has(name)) throw new DeepMakerError(`the model graph has a cycle through '${name}'`, { file: ctx.file, where: name });
    visiting.add(name);
    let layer: ImportedLayer;
    if (lj.class_name === 'InputLayer') {
      const shape = inputShapeOf(lj.config ?? {}, name, ctx.file);
      if (!shape) throw new DeepMakerError(`input '${name}' has no shape`, { file: ctx.file, where: name });
      layer = inputLayer(name, shape);
    } else {
      const refs = inboundRefs(lj, ctx, name);
      if (refs.length === 0) throw new DeepMakerError(`layer '${name}' has no inbound nodes`, { file: ctx.file, where: name });
      for (const r of refs) {
        if (r.node !== 0 || r.tensor !== 0) {
          throw new DeepMakerError(`layer '${name}' reads output ${r.tensor} of call ${r.node} of '${r.layer}'; only single-output, single-call layers are supported`, { file: ctx.file, where: name });
        }
      }
      const ins = refs.map((r) => build(r.layer));
      const conv = convertLayer(lj, ctx);
      if ((conv.inner || !['add', 'average', 'multiply', 'concatenate'].includes(conv.layer.type)) && ins.length !== 1) {
        throw new DeepMakerError(`layer '${name}' (${lj.class_name}) has ${ins.length} inputs; it takes one`, { file: ctx.file, where: name });
      }
      if (conv.layer.name !== name) {
        throw new DeepMakerError(`layer '${name}' is named '${conv.layer.name}' in its config`, { file: ctx.file, where: name }, 'the model config is corrupt or was edited; save the model again');
      }
      layer = place(conv, ins, ctx.file, layers, slots, sources);
    }
    visiting.delete(name);
    built.set(name, layer);
    if (layer.type === 'input') layers.push(layer);
    return layer;
  };
  const inputs = endpointNames(cfg.input_layers);
  const outputs = endpointNames(cfg.output_layers);
  if (outputs.length === 0) throw new DeepMakerError('the functional model config names no output layers', { file: ctx.file });
  for (const i of inputs) build(i);
  for (const o of outputs) build(o);
  // Layers not reachable from the outputs do not affect the result; they are dropped (their weights are ignored).
  return { layers, inputs: inputs.length ? inputs : layers.filter((l) => l.type === 'input').map((l) => l.name), outputs, slots, sources, order };
}

/** TypeScript view of schemas/deepmaker.schema.json (after ajv filled the defaults). */
export interface FixedFormatSpec {
  bits: number;
  integer: number;
}

export interface DataFilesSpec {
  images?: string;
  labels?: string;
  files?: string[];
  x?: string;
  y?: string;
}

export interface DataSpec {
  dataset: 'mnist' | 'idx' | 'cifar10' | 'npy' | 'npz' | 'csv';
  train?: DataFilesSpec;
  test?: DataFilesSpec;
  validationSplit: number;
  seed: number;
  limit?: { train?: number; test?: number };
  normalize: 'scale' | 'standardize' | 'none';
  csv?: { label?: string | number; header?: boolean; delimiter?: string; window?: number; stride?: number };
  npz?: { x?: string; y?: string; testX?: string; testY?: string };
}

export interface ArchLayerSpec {
  type: string;
  filters?: number;
  units?: number;
  kernel?: number;
  stride?: number;
  pool?: number;
  padding?: 'valid' | 'same';
  activation?: string;
  rate?: number;
}

export interface Spec {
  name: string;
  model?: string;
  data: DataSpec;
  search: Record<string, any>;
  train: Record<string, any> & { architecture: 'selected' | ArchLayerSpec[] };
  quantize: Record<string, any> & { mode: 'float' | 'fixed' | 'ternary' };
  convert: Record<string, any>;
  verify: Record<string, any>;
  dse: Record<string, any>;
  rtl: Record<string, any>;
  sim: Record<string, any>;
  target: { device: string; package?: string; board: string; clockMHz: number; toolchain: 'auto' | 'native' | 'yowasp' };
}

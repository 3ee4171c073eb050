/**
 * Writes small HDF5 files for importer tests with h5wasm (the same library the importer reads
 * with): groups, float32 datasets, string and string-list attributes.
 */
export interface H5Node {
  attrs?: Record<string, string | string[]>;
  /** Child groups. */
  groups?: Record<string, H5Node>;
  /** Datasets: float32 values with a shape. */
  datasets?: Record<string, { shape: number[]; data: Float32Array }>;
}

let n = 0;

export async function writeHdf5(root: H5Node): Promise<Uint8Array> {
  const h5 = await import('h5wasm');
  await h5.ready;
  const path = `/test-writer-${process.pid}-${++n}.h5`;
  const f = new h5.File(path, 'w');
  const fill = (g: any, node: H5Node) => {
    for (const [k, v] of Object.entries(node.attrs ?? {})) g.create_attribute(k, v);
    for (const [k, d] of Object.entries(node.datasets ?? {})) g.create_dataset({ name: k, data: d.data, shape: d.shape, dtype: '<f' });
    for (const [k, child] of Object.entries(node.groups ?? {})) fill(g.create_group(k), child);
  };
  fill(f, root);
  f.close();
  const bytes = h5.FS!.readFile(path) as Uint8Array;
  h5.FS!.unlink(path);
  return bytes;
}

// Import rules for src/ (npm run lint:deps; npm test runs it first and fails on any violation).
// The pipeline flows one way: util/numerics/ir at the bottom, importers and passes above them,
// the libraries of each stage (quant, cgen, verify, dse, rtl, sim, fpga, ...) above those, then
// the Nx-facing layer (src/plugin) and the command line (src/cli) on top.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycle',
      severity: 'error',
      comment:
        'Two src/ folders import each other (directly or through others). Move the shared code down ' +
        'into the lower folder, or the caller up, so that the pipeline flows one way.',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-module-cycle',
      severity: 'error',
      comment: 'A module cycle: split the shared part into its own module.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'integer-consumers-read-the-quantized-model-view',
      severity: 'error',
      comment:
        'The TF.js integer reference (src/quant), the RTL (src/rtl), its interpreter (src/sim) and the DSE ' +
        'cost model (src/dse) take quantized weights, biases, scales, thresholds and formats from one ' +
        'view, src/qmodel/lower.ts. They must not resolve formats again from src/qmodel/precision.ts ' +
        '(resolveFormats and its helpers); importing its types (NumberKnobs) is fine.',
      from: { path: '^src/(quant|rtl|sim|dse)/' },
      to: { path: '^src/qmodel/precision\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'libraries-never-import-the-plugin',
      severity: 'error',
      comment:
        'src/plugin is the Nx layer; a library module under src/ must not import it. Only src/cli ' +
        '(the command line, which runs the same stages outside Nx) sits above it.',
      from: { path: '^src/', pathNot: '^src/(plugin|cli)/' },
      to: { path: '^src/plugin/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|build)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: require('node:path').join(__dirname, 'tsconfig.json') },
    moduleSystems: ['cjs', 'es6'],
  },
};

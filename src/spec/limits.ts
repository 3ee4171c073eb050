/**
 * Limits on a spec file, shared by the loader and the Nx plugin's createNodes (which must stay light
 * and must never hang a workspace on one project's file).
 */

/** A deepmaker.yaml is a few KiB; anything above this is refused before parsing (a 50 MB list took 4.4 GB). */
export const MAX_SPEC_BYTES = 1024 * 1024;

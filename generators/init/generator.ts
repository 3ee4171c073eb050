import { readNxJson, updateNxJson, type Tree } from '@nx/devkit';

export interface InitOptions {
  /** Internal: callers that format at the end themselves. */
  skipFormat?: boolean;
}

export const PLUGIN = 'deepmaker/plugin';
export const PLUGIN_ENTRY = { plugin: PLUGIN, include: ['**/deepmaker.yaml'] };
/** What a DeepMaker project writes that must not be committed: stage outputs and resumable work. */
export const IGNORED = ['dist', '.deepmaker'];

/**
 * `nx g deepmaker:init`: registers the plugin in nx.json and ignores its outputs in .gitignore.
 * Idempotent: a second run changes nothing (an edit of nx.json or .gitignore invalidates every
 * cached task, so we never rewrite them needlessly).
 */
export default async function initGenerator(tree: Tree, _options: InitOptions = {}): Promise<void> {
  addPlugin(tree);
  ignoreOutputs(tree);
}

export function addPlugin(tree: Tree): boolean {
  const nxJson = readNxJson(tree) ?? {};
  const plugins = nxJson.plugins ?? [];
  const present = plugins.some((p) => (typeof p === 'string' ? p : p.plugin) === PLUGIN);
  if (present) return false;
  nxJson.plugins = [...plugins, { ...PLUGIN_ENTRY, include: [...PLUGIN_ENTRY.include] }];
  updateNxJson(tree, nxJson);
  return true;
}

export function ignoreOutputs(tree: Tree): boolean {
  const text = tree.exists('.gitignore') ? tree.read('.gitignore', 'utf-8') ?? '' : '';
  // `dist`, `/dist`, `dist/` and `/dist/` all ignore the folders we write.
  const lines = new Set(text.split(/\r?\n/).map((l) => l.trim().replace(/^\//, '').replace(/\/$/, '')));
  const missing = IGNORED.filter((p) => !lines.has(p));
  if (!missing.length) return false;
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  tree.write('.gitignore', `${text}${sep}# DeepMaker stage outputs and resumable work\n${missing.map((p) => `${p}/`).join('\n')}\n`);
  return true;
}

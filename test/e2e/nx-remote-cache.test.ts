import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { tasks, Workspace, writeIdxDataset } from './workspace';

/**
 * Sharing stages through a self-hosted remote cache, without Nx Cloud: a minimal server implementing
 * Nx's remote cache API (GET/PUT /v1/cache/{hash}, bearer token) on 127.0.0.1, and two separate
 * workspaces with the same project. The second one takes spec and data from the server.
 */
const TOKEN = 'test-token-123';

function cacheServer() {
  const store = new Map<string, Buffer>();
  const log: string[] = [];
  const server = createServer((req, res) => {
    const m = /^\/v1\/cache\/([A-Za-z0-9]+)$/.exec(req.url ?? '');
    log.push(`${req.method} ${m ? 'hash' : req.url}`);
    if (!m) return void res.writeHead(404).end();
    // The API answers auth failures in text/plain (Nx checks that).
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized');
    const hash = m[1];
    if (req.method === 'GET') {
      const body = store.get(hash);
      if (!body) return void res.writeHead(404).end();
      return void res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
    }
    if (req.method === 'PUT') {
      if (store.has(hash)) return void res.writeHead(409).end();
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        store.set(hash, Buffer.concat(chunks));
        res.writeHead(200).end();
      });
      return;
    }
    res.writeHead(405).end();
  });
  // Bounded: no connection may keep the test alive.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  return { server, store, log };
}

const YAML = `name: model
data:
  dataset: idx
  train: { images: train-images.idx, labels: train-labels.idx }
  test: { images: test-images.idx, labels: test-labels.idx }
`;

function project(ws: Workspace): void {
  writeIdxDataset(ws, '', { train: 200, test: 40, classes: 4, seed: 5 });
  ws.write('deepmaker.yaml', YAML);
  ws.write('nx.json', JSON.stringify({ cacheDirectory: '.nx/cache', useDaemonProcess: false, plugins: [{ plugin: 'deepmaker/plugin', include: ['**/deepmaker.yaml'] }] }, null, 2));
}

describe('nx: a self-hosted remote cache (no Nx Cloud)', () => {
  const { server, store, log } = cacheServer();
  const alice = new Workspace('dm-e2e-alice-');
  const bob = new Workspace('dm-e2e-bob-');
  let env: Record<string, string>;

  before(async () => {
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const { port } = server.address() as AddressInfo;
    env = { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: `http://127.0.0.1:${port}`, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: TOKEN };
    project(alice);
    project(bob);
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
    alice.remove();
    bob.remove();
  });

  it('the first workspace runs the stages and uploads their outputs', async () => {
    const r = await alice.nx(['run', 'model:data', '--output-style=static'], env);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(tasks(r.out), { 'model:spec': 'ran', 'model:data': 'ran' });
    assert.equal(store.size, 2, `one archive per task; requests: ${log.join(', ')}`);
  });

  it('a second workspace (another clone) takes both from the remote cache', async () => {
    const r = await bob.nx(['run', 'model:data', '--output-style=static'], env);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(tasks(r.out), { 'model:spec': 'remote cache', 'model:data': 'remote cache' });
    assert.equal(bob.read('dist/data/report.json'), alice.read('dist/data/report.json'));
    assert.equal(bob.read('dist/spec/data.json'), alice.read('dist/spec/data.json'));
  });

  it('a wrong token is refused: Nx stops with "Unauthorized" and uploads nothing', async () => {
    const carol = new Workspace('dm-e2e-carol-');
    try {
      project(carol);
      carol.write('deepmaker.yaml', YAML + '  seed: 9\n'); // another hash, so a PUT would be attempted
      const before = store.size;
      const r = await carol.nx(['run', 'model:data', '--output-style=static'], { ...env, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'wrong' });
      assert.notEqual(r.code, 0);
      assert.match(r.out, /Unauthorized/);
      assert.equal(store.size, before);
    } finally {
      carol.remove();
    }
  });
});

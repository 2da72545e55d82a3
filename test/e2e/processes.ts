import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

const BIN = new URL('../../bin/meshplan.js', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Starts `meshplan ARGS` as a real process; its output is kept for failure messages. */
export function startMeshplan(
  args: string[],
  env: Record<string, string>,
): ChildProcess & { output: string[] } {
  return startNode(BIN, args, env);
}

/**
 * Stoplight Prism (a dev dependency) as a validating proxy in front of `upstream`: with `--errors`
 * every request or answer that does not match `document` becomes an error response carrying the
 * violations.
 */
export function startPrismProxy(document: string, upstream: string, port: number) {
  const prism = `${ROOT}node_modules/.bin/prism`;
  const args = ['proxy', document, upstream, '--errors', '--host', '127.0.0.1', '--port', String(port)];
  return startNode(prism, args, {});
}

function startNode(script: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { output: string[] };
  child.output = [];
  child.stdout?.on('data', (d: Buffer) => child.output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => child.output.push(d.toString()));
  return child;
}

export async function waitUntilReady(url: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not become ready`);
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

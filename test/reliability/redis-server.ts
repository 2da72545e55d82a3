import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A private `redis-server` for fault tests: its own port and data directory, the append-only file
 * fsynced on every write, so a server killed and started again on the same directory still holds every
 * job it acknowledged.
 */
export class RedisServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'meshplan-redis-'));
  port = 0;
  private process: ChildProcess | null = null;
  private readonly output: string[] = [];

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it on `port` (again: the same port and directory) and waits until it answers PING. */
  async start(port: number, timeoutMs = 10_000): Promise<void> {
    this.port = port;
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir];
    const child = spawn(
      'redis-server',
      [...args, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (d: Buffer) => this.output.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => this.output.push(d.toString()));
    this.process = child;
    const deadline = Date.now() + timeoutMs;
    while (!(await ping(this.port))) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`redis-server on ${this.port} did not start:\n${this.output.join('')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Ends the server with `signal` (SIGKILL: no shutdown save, as a crash) and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.process;
    this.process = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops it and removes its data directory. */
  async remove(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether a Redis answers PING on `port` within a second. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data: Buffer) => done(data.toString().startsWith('+PONG')));
  });
}

import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { apiKeysFromEnv, registerServeCommand, startServer } from '../../src/cli/serve-command.ts';
import { MemoryQueue } from './memory-queue.ts';

describe('meshplan serve', () => {
  it('registers `serve` with --host and --port (defaults 127.0.0.1:8080, HOST and PORT from the environment)', () => {
    const program = new Command();
    registerServeCommand(program, () => new MemoryQueue());
    const serve = program.commands.find((command) => command.name() === 'serve')!;
    const options = Object.fromEntries(serve.options.map((option) => [option.long, option]));
    expect(options['--host']).toMatchObject({ defaultValue: '127.0.0.1', envVar: 'HOST' });
    expect(options['--port']).toMatchObject({ defaultValue: 8080, envVar: 'PORT' });
  });

  it('rejects a port that is not one', () => {
    const program = new Command().exitOverride().configureOutput({ writeErr: () => {} });
    registerServeCommand(program, () => {
      throw new Error('must not start');
    });
    expect(() => program.parse(['serve', '--port', '70000'], { from: 'user' })).toThrow(/TCP port/);
  });

  it('serves until stopped, then closes the server before the queue', async () => {
    const queue = new MemoryQueue();
    const server = await startServer({ host: '127.0.0.1', port: 0, apiKeys: [], logger: false }, queue);
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    let serverClosedFirst = false;
    const close = queue.close.bind(queue);
    queue.close = async () => {
      serverClosedFirst = !server.app.server.listening;
      await close();
    };
    await Promise.all([server.stop(), server.stop()]);
    expect(serverClosedFirst).toBe(true);
    expect(queue.calls.filter((call) => call === 'close')).toHaveLength(1);
  });

  it('reads API keys from a comma-separated list', () => {
    expect(apiKeysFromEnv(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
    expect(apiKeysFromEnv(undefined)).toEqual([]);
  });
});

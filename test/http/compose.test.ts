import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, unknown>;
  container_name?: string;
  stop_grace_period?: string;
}

const root = new URL('../../', import.meta.url);
const compose = async () =>
  parse(await readFile(new URL('docker-compose.yml', root), 'utf8')) as {
    services: Record<string, Service>;
    volumes: Record<string, unknown>;
  };

describe('docker-compose.yml', () => {
  it('runs redis, api and worker', async () => {
    expect(Object.keys((await compose()).services).sort()).toEqual(['api', 'redis', 'worker']);
  });

  it('keeps Redis on an append-only file in a named volume', async () => {
    const { services, volumes } = await compose();
    const redis = services.redis!;
    expect(redis.image).toMatch(/^redis:7/);
    expect(redis.command?.join(' ')).toMatch(/--appendonly yes/);
    const [volume, mount] = redis.volumes![0]!.split(':');
    expect(mount).toBe('/data');
    expect(volumes).toHaveProperty(volume!);
  });

  it('wires the api to Redis and publishes port 8080', async () => {
    const api = (await compose()).services.api!;
    expect(api.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(api.ports).toContain('8080:8080');
    expect(Object.keys(api.depends_on ?? {})).toContain('redis');
  });

  it('runs scalable workers from the api image against the same Redis', async () => {
    const { api, worker } = (await compose()).services;
    expect(worker!.image).toBe(api!.image);
    expect(worker!.command).toEqual(['node', 'bin/meshplan.js', 'worker']);
    expect(worker!.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(Object.keys(worker!.depends_on ?? {})).toContain('redis');
    // `docker compose up --scale worker=N` needs neither a fixed name nor a fixed host port.
    expect(worker!.container_name).toBeUndefined();
    expect(worker!.ports).toBeUndefined();
  });

  it('gives the api and workers longer to stop than their drain (25 s) before Docker kills them', async () => {
    const { api, worker } = (await compose()).services;
    for (const service of [api!, worker!]) {
      const grace = Number(/^(\d+)s$/.exec(service.stop_grace_period ?? '')?.[1]);
      expect(grace).toBeGreaterThan(25);
    }
  });
});

describe('Dockerfile', () => {
  it('installs with npm ci on node:20-slim and serves on all interfaces', async () => {
    const dockerfile = await readFile(new URL('Dockerfile', root), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20-slim$/m);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/^CMD \["node", "bin\/meshplan\.js", "serve", "--host", "0\.0\.0\.0"\]$/m);
  });
});

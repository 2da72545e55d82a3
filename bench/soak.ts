import { cpus, loadavg, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createRng } from '../solvers/random.ts';
import { type components, createMeshplanClient, type MeshplanClient } from '../src/client/index.ts';
import { finalCount, isFinalStatus } from '../src/schema/jobs.ts';
import { writeResults } from './results-io.ts';
import { type MeshplanProcess, REDIS_URL, withService } from './service-processes.ts';
import { percentile, processName, round, shuffle, slope, vmRssMiB } from './soak-stats.ts';

type PlanRequestInput = components['schemas']['PlanRequestInput'];
type SweepRequestInput = components['schemas']['SweepRequestInput'];
type JobStatus = components['schemas']['JobStatus'];

const DEFAULT_DURATION_SEC = 120;

/**
 * Fixed parameters of the traffic. Closed loop: each client waits for its answer (and THINK_MS) before
 * the next request, so the offered load adapts to the server instead of queueing without bound. The
 * pause keeps the 2-core machine from being pinned by the load generator itself: this suite looks for
 * errors, lost jobs and memory growth under sustained mixed load; `service` measures peak throughput.
 */
const CLIENTS = 8;
const THINK_MS = 5;
/** Shares of the closed-loop picks; the rest are GETs of plan ids, half finished, half in flight. */
const MIX = { newPlan: 0.2, dedupPlan: 0.25 } as const;
/** Hard cap on distinct plans submitted in one run, whatever the duration. */
const MAX_NEW_PLANS = 1000;
/**
 * New plans accepted but not yet seen finished. A pick beyond it becomes a dedup re-POST, so new work
 * is offered no faster than two workers drain it (plus this margin), rather than piling up in Redis.
 */
const MAX_IN_FLIGHT_NEW_PLANS = 12;
const SWEEPS = 3;
const SWEEP_POLL_MS = 500;
const SAMPLE_SEC = 5;
/** After the traffic: how long every accepted job may take to reach a final state before it counts as lost. */
const DRAIN_TIMEOUT_SEC = 120;
const SEED = 20261126;

const TRAFFIC_KINDS = [
  'newPlan',
  'dedupPlan',
  'getFinished',
  'getInFlight',
  'submitSweep',
  'getSweep',
] as const;
type TrafficKind = (typeof TRAFFIC_KINDS)[number];
/** `finalCheck`: reads after the traffic (following the last sweep, checking every job): not in the mix. */
type Kind = TrafficKind | 'finalCheck';

/** `--duration-sec N`, else SOAK_DURATION_SEC, else two minutes. */
export function soakDurationSec(flag: string | undefined): number {
  const raw = flag ?? process.env.SOAK_DURATION_SEC;
  if (raw === undefined || raw.trim() === '') return DEFAULT_DURATION_SEC;
  const sec = Number(raw);
  if (!Number.isFinite(sec) || sec < 5) throw new Error(`soak duration: expected seconds ≥ 5, got "${raw}"`);
  return sec;
}

/**
 * Distinct small transformers (2 × 3 × 6 × 3 × 6 × 3 = 1,944), shuffled so sizes mix over the run: each
 * is a real search taking a worker ~10–600 ms. seqLen 128/256 keeps them apart from the sweeps' points.
 */
function newPlanRequests(random: () => number): PlanRequestInput[] {
  const requests: PlanRequestInput[] = [];
  for (const seqLen of [128, 256])
    for (const hidden of [256, 512, 1024])
      for (const layers of [1, 2, 3, 4, 6, 8])
        for (const gpusPerNode of [2, 4, 8])
          for (const globalBatch of [8, 16, 32, 64, 128, 256])
            for (const microBatch of [undefined, 1, 2])
              requests.push({
                model: { kind: 'transformer', layers, hidden, heads: hidden / 64, vocab: 1024, seqLen },
                cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode },
                training: { globalBatch, ...(microBatch === undefined ? {} : { microBatch }) },
              });
  return shuffle(requests, random);
}

/** A 20-point grid; each sweep of a run has another base (hidden, vocab), so none is a dedup hit. */
function sweepRequest(index: number): SweepRequestInput {
  const hidden = [256, 512, 768][index % 3]!;
  return {
    base: {
      model: {
        kind: 'transformer',
        layers: 2,
        hidden,
        heads: hidden / 64,
        vocab: 1024 * (1 + Math.floor(index / 3)),
        seqLen: 512,
      },
      cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 4 },
      training: { globalBatch: 32 },
    },
    grid: { 'training.globalBatch': [16, 32, 64, 128, 256], 'model.layers': [1, 2, 3, 4] },
  };
}

interface ErrorSample {
  readonly kind: Kind;
  readonly atSec: number;
  readonly status: number | null;
  readonly detail: string;
}

/** Latencies of 2xx answers, errors (non-2xx and network) and unexpected-but-2xx answers, by kind. */
class Recorder {
  readonly latencies = new Map<Kind, number[]>();
  readonly errors = new Map<Kind, number>();
  readonly errorSamples: ErrorSample[] = [];
  readonly anomalies = new Map<string, number>();
  readonly anomalySamples: string[] = [];

  constructor(private readonly startedAt: number) {}

  /**
   * Times one call; null on a network error or a non-2xx answer not in `expected` (both recorded as
   * errors). Only 2xx answers make the latency figures.
   */
  async call<T extends { response: Response }>(
    kind: Kind,
    fn: () => Promise<T>,
    expected: readonly number[] = [],
  ): Promise<T | null> {
    const started = performance.now();
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      this.error(kind, null, `${(error as Error).name}: ${(error as Error).message}`);
      return null;
    }
    const ms = performance.now() - started;
    if (expected.includes(result.response.status)) return result;
    if (!result.response.ok) {
      const problem = (result as { error?: unknown }).error;
      this.error(kind, result.response.status, JSON.stringify(problem ?? null).slice(0, 300));
      return null;
    }
    const list = this.latencies.get(kind);
    if (list === undefined) this.latencies.set(kind, [ms]);
    else list.push(ms);
    return result;
  }

  anomaly(name: string, detail: string): void {
    this.anomalies.set(name, (this.anomalies.get(name) ?? 0) + 1);
    if (this.anomalySamples.length < 20) this.anomalySamples.push(`${name}: ${detail}`);
  }

  private error(kind: Kind, status: number | null, detail: string): void {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
    if (this.errorSamples.length < 20) {
      const atSec = round((performance.now() - this.startedAt) / 1000, 1)!;
      this.errorSamples.push({ kind, atSec, status, detail });
    }
  }

  summary(kind: Kind, seconds: number) {
    const sorted = [...(this.latencies.get(kind) ?? [])].sort((a, b) => a - b);
    return stats(sorted, this.errors.get(kind) ?? 0, seconds);
  }

  overall(seconds: number) {
    const sorted = TRAFFIC_KINDS.flatMap((k) => this.latencies.get(k) ?? []).sort((a, b) => a - b);
    const errors = TRAFFIC_KINDS.reduce((n, k) => n + (this.errors.get(k) ?? 0), 0);
    return stats(sorted, errors, seconds);
  }
}

function stats(sortedMs: readonly number[], errors: number, seconds: number) {
  return {
    count: sortedMs.length + errors,
    ok: sortedMs.length,
    errors,
    requestsPerSec: round((sortedMs.length + errors) / seconds, 1),
    p50Ms: round(percentile(sortedMs, 50), 2),
    p99Ms: round(percentile(sortedMs, 99), 2),
    maxMs: round(sortedMs.at(-1) ?? null, 2),
  };
}

/** What the API last said about each accepted job; plan jobs split into in flight and finished for the GET mix. */
class Jobs {
  readonly status = new Map<string, { status: JobStatus; source: 'plan' | 'sweep' }>();
  readonly inFlight = new Set<string>();
  readonly finished: string[] = [];
  readonly submitted: { id: string; body: PlanRequestInput }[] = [];

  accept(id: string, status: JobStatus, source: 'plan' | 'sweep', body?: PlanRequestInput): void {
    if (this.status.has(id)) {
      this.observe(id, status);
      return;
    }
    this.status.set(id, { status, source });
    if (body !== undefined) this.submitted.push({ id, body });
    if (source !== 'plan') return;
    if (isFinalStatus(status)) this.finished.push(id);
    else this.inFlight.add(id);
  }

  observe(id: string, status: JobStatus): void {
    const known = this.status.get(id);
    if (known === undefined) return;
    known.status = status;
    if (isFinalStatus(status) && this.inFlight.delete(id)) this.finished.push(id);
  }
}

interface ProcessRss {
  readonly name: string;
  readonly pid: number;
}

interface Sample {
  /** `traffic` samples make the start/end/max/slope figures; `drained` is the one after the final check. */
  readonly phase: 'traffic' | 'drained';
  readonly tSec: number;
  readonly rssMiB: Record<string, number | null>;
  /** The API's V8 heap and external memory (its /metrics): tells heap growth from allocator growth. */
  readonly apiHeapUsedMiB: number | null;
  readonly apiExternalMiB: number | null;
  /** The whole Redis (shared with other users of it), not only this run's queue. */
  readonly redisUsedMemoryMiB: number | null;
  readonly queue: Record<string, number> | null;
  readonly inFlightNewPlans: number;
}

async function redisInfo(redis: Redis, section: string, field: string): Promise<number | null> {
  try {
    const match = new RegExp(`^${field}:(\\d+)`, 'm').exec(await redis.info(section));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

async function apiMemory(
  url: string,
): Promise<{ apiHeapUsedMiB: number | null; apiExternalMiB: number | null }> {
  const read = (text: string, metric: string) => {
    const match = new RegExp(`^meshplan_${metric} (\\S+)$`, 'm').exec(text);
    return match ? round(Number(match[1]) / 2 ** 20, 1) : null;
  };
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    return {
      apiHeapUsedMiB: read(text, 'nodejs_heap_size_used_bytes'),
      apiExternalMiB: read(text, 'nodejs_external_memory_bytes'),
    };
  } catch {
    return { apiHeapUsedMiB: null, apiExternalMiB: null };
  }
}

/** Redis's pid when it runs on this machine and /proc shows it (not in another pid namespace). */
async function localRedisPid(redis: Redis): Promise<number | null> {
  const pid = await redisInfo(redis, 'server', 'process_id');
  return pid !== null && processName(pid)?.startsWith('redis') ? pid : null;
}

function rssSummary(samples: readonly Sample[], name: string, durationSec: number) {
  const series = samples
    .filter((s) => s.phase === 'traffic')
    .sort((a, b) => a.tSec - b.tSec)
    .flatMap((s) => (s.rssMiB[name] == null ? [] : [{ x: s.tSec, y: s.rssMiB[name]! }]));
  if (series.length === 0) return null;
  const secondHalf = series.filter((p) => p.x >= durationSec / 2).map((p) => ({ x: p.x / 60, y: p.y }));
  return {
    startMiB: round(series[0]!.y, 1),
    endMiB: round(series.at(-1)!.y, 1),
    maxMiB: round(Math.max(...series.map((p) => p.y)), 1),
    slopeMiBPerMinSecondHalf: round(slope(secondHalf), 2),
    samplesSecondHalf: secondHalf.length,
  };
}

function outputTail(child: MeshplanProcess): string {
  return child.output.join('').split('\n').slice(-15).join('\n');
}

/**
 * A soak of the service: `durationSec` of mixed closed-loop traffic (new plans, dedup re-POSTs, GETs of
 * finished and in-flight jobs, sweeps followed to completion) against `meshplan serve` and two
 * `meshplan worker`, then a bounded wait for every accepted job. Reports errors, lost jobs, latency and
 * throughput per kind, sweep completion times and the RSS of each process over time.
 */
export async function runSoak(durationSec: number): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  try {
    await withService('soak', 2, async (service) => {
      const watched: ProcessRss[] = [
        { name: 'api', pid: service.api.pid! },
        ...service.workers.map((w, i) => ({ name: `worker${i + 1}`, pid: w.pid! })),
      ];
      const redisPid = await localRedisPid(redis);
      if (redisPid !== null) watched.push({ name: 'redis', pid: redisPid });
      const queue = new Queue(service.queueName, { connection: { url: REDIS_URL } as never });
      try {
        await soak(durationSec, service.url, service.queueName, [service.api, ...service.workers], watched, {
          redis,
          queue,
        });
      } finally {
        await queue.close();
      }
    });
  } finally {
    redis.disconnect();
  }
}

async function soak(
  durationSec: number,
  url: string,
  queueName: string,
  children: readonly MeshplanProcess[],
  watched: readonly ProcessRss[],
  store: { redis: Redis; queue: Queue },
): Promise<void> {
  const client: MeshplanClient = createMeshplanClient(url);
  const random = createRng(SEED);
  const plans = newPlanRequests(random).slice(0, MAX_NEW_PLANS);
  const loadStart = loadavg();
  const startedAt = performance.now();
  const endAt = startedAt + durationSec * 1000;
  const elapsedSec = () => (performance.now() - startedAt) / 1000;
  const rec = new Recorder(startedAt);
  const jobs = new Jobs();
  let nextPlan = 0;
  let submitting = 0;
  let newPlansDeferred = 0;

  const samples: Sample[] = [];
  const sample = async (phase: Sample['phase'] = 'traffic') => {
    const tSec = round(elapsedSec(), 2)!;
    const rssMiB = Object.fromEntries(watched.map((p) => [p.name, round(vmRssMiB(p.pid), 1)]));
    const used = await redisInfo(store.redis, 'memory', 'used_memory');
    const heap = await apiMemory(url);
    let counts: Record<string, number> | null = null;
    try {
      counts = await store.queue.getJobCounts('waiting', 'prioritized', 'active', 'completed', 'failed');
    } catch {
      // A missing depth is no reason to stop the run; the sample says null.
    }
    samples.push({
      phase,
      tSec,
      rssMiB,
      ...heap,
      redisUsedMemoryMiB: round(used === null ? null : used / 2 ** 20, 1),
      queue: counts,
      inFlightNewPlans: jobs.inFlight.size,
    });
  };
  await sample();
  const sampler = setInterval(() => void sample(), SAMPLE_SEC * 1000);

  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

  const newPlan = async (): Promise<void> => {
    const body = plans[nextPlan++]!;
    // Counted before the await, so eight clients cannot all pass the in-flight check at once.
    submitting += 1;
    const result = await rec.call('newPlan', () => client.POST('/v1/plans', { body }));
    submitting -= 1;
    if (result === null) return;
    const { id, status } = result.data!;
    if (result.response.status !== 202)
      rec.anomaly('newPlanNotCreated', `${id} answered ${result.response.status}`);
    jobs.accept(id, status, 'plan', body);
  };

  const dedupPlan = async (): Promise<void> => {
    const { id, body } = pick(jobs.submitted);
    const result = await rec.call('dedupPlan', () => client.POST('/v1/plans', { body }));
    if (result === null) return;
    const data = result.data!;
    // A 202 here means the store no longer knew the job: it was created again.
    if (result.response.status !== 200)
      rec.anomaly('dedupRecreated', `${id} answered ${result.response.status}`);
    if (data.id !== id) rec.anomaly('dedupOtherId', `${id} answered with ${data.id}`);
    jobs.observe(id, data.status);
  };

  const getPlan = async (kind: 'getFinished' | 'getInFlight', id: string): Promise<void> => {
    const result = await rec.call(kind, () => client.GET('/v1/plans/{id}', { params: { path: { id } } }));
    if (result !== null) jobs.observe(id, result.data!.status);
  };

  const step = async (): Promise<void> => {
    const r = random();
    const canSubmit = nextPlan < plans.length && jobs.inFlight.size + submitting < MAX_IN_FLIGHT_NEW_PLANS;
    if (jobs.submitted.length === 0 || (r < MIX.newPlan && canSubmit)) {
      // Until a first plan is accepted there is nothing to re-POST or read.
      if (canSubmit) await newPlan();
      return;
    }
    if (r < MIX.newPlan) newPlansDeferred += 1;
    if (r < MIX.newPlan + MIX.dedupPlan) return dedupPlan();
    // GETs: half of ids seen finished, half still in flight; the other kind when one is empty.
    const wantFinished = r < MIX.newPlan + MIX.dedupPlan + (1 - MIX.newPlan - MIX.dedupPlan) / 2;
    if ((wantFinished && jobs.finished.length > 0) || jobs.inFlight.size === 0) {
      if (jobs.finished.length === 0) return dedupPlan();
      return getPlan('getFinished', pick(jobs.finished));
    }
    return getPlan('getInFlight', pick([...jobs.inFlight]));
  };

  const virtualClient = async (): Promise<void> => {
    while (performance.now() < endAt) {
      await step();
      await sleep(THINK_MS);
    }
  };

  const sweepDeadline = endAt + DRAIN_TIMEOUT_SEC * 1000;
  const sweepResults: {
    index: number;
    id: string;
    points: number;
    submittedAtSec: number;
    completionSec: number | null;
    counts: Record<string, number>;
  }[] = [];
  const driveSweeps = async (): Promise<void> => {
    for (let index = 0; index < SWEEPS; index++) {
      // Spread over the run, each after the previous one finished, so sweeps meet the mixed traffic.
      const startAt = startedAt + ((index + 0.5) * durationSec * 1000) / SWEEPS;
      if (performance.now() < startAt) await sleep(startAt - performance.now());
      if (performance.now() >= endAt) break;
      const submittedAt = performance.now();
      const submitted = await rec.call('submitSweep', () =>
        client.POST('/v1/sweeps', { body: sweepRequest(index) }),
      );
      if (submitted === null) continue;
      const sweep = submitted.data!;
      let counts: Record<string, number> = sweep.counts;
      let completionSec: number | null = null;
      while (performance.now() < sweepDeadline) {
        await sleep(SWEEP_POLL_MS);
        const kind = performance.now() < endAt ? 'getSweep' : 'finalCheck';
        const polled = await rec.call(kind, () =>
          client.GET('/v1/sweeps/{id}', { params: { path: { id: sweep.id } } }),
        );
        if (polled === null) continue;
        counts = polled.data!.counts;
        for (const row of polled.data!.rows) jobs.accept(row.jobId, row.status, 'sweep');
        const done = finalCount(counts);
        if (done >= sweep.points) {
          completionSec = round((performance.now() - submittedAt) / 1000, 2);
          break;
        }
      }
      sweepResults.push({
        index,
        id: sweep.id,
        points: sweep.points,
        submittedAtSec: round((submittedAt - startedAt) / 1000, 1)!,
        completionSec,
        counts,
      });
    }
  };

  process.stdout.write(
    `soak: ${durationSec} s, ${CLIENTS} clients + 1 sweep driver, 2 workers, queue ${queueName}\n`,
  );
  const progress = setInterval(() => {
    const s = samples.at(-1);
    const rss = s ? watched.map((p) => `${p.name} ${s.rssMiB[p.name] ?? '-'}`).join(', ') : '';
    process.stdout.write(
      `  t=${elapsedSec().toFixed(0)} s: ${jobs.status.size} jobs accepted, ${jobs.inFlight.size} new plans in flight; RSS MiB ${rss}\n`,
    );
  }, 30_000);
  const sweeping = driveSweeps();
  await Promise.all(Array.from({ length: CLIENTS }, virtualClient));
  const trafficSec = elapsedSec();
  clearInterval(progress);
  clearInterval(sampler);
  await sample();
  const loadEnd = loadavg();
  const diedDuringTraffic = children.filter((c) => c.exitCode !== null || c.signalCode !== null);

  // Every accepted job must reach a final state with its result (or its error) readable; the clock
  // starts at the end of the traffic, so following the last sweep counts.
  const drainStarted = performance.now();
  await sweeping;
  // A 404 here is how a lost job shows: counted as lost, not also as an error.
  const readJob = async (id: string) => {
    const answer = await rec.call(
      'finalCheck',
      () => client.GET('/v1/plans/{id}', { params: { path: { id } } }),
      [404],
    );
    if (answer?.response.status === 404) return 'not found' as const;
    return answer?.data ?? null;
  };
  const drainDeadline = drainStarted + DRAIN_TIMEOUT_SEC * 1000;
  const pending = new Set(jobs.status.keys());
  const lost: { id: string; source: string; reason: string }[] = [];
  let succeeded = 0;
  let failed = 0;
  const failedSamples: string[] = [];
  while (pending.size > 0 && performance.now() < drainDeadline) {
    const ids = [...pending];
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, worker) => {
        for (let i = worker; i < ids.length; i += CLIENTS) {
          const id = ids[i]!;
          const source = jobs.status.get(id)!.source;
          const answer = await readJob(id);
          if (answer === 'not found') {
            pending.delete(id);
            lost.push({ id, source, reason: 'not found' });
            continue;
          }
          const job = answer;
          if (job === null || !isFinalStatus(job.status)) continue;
          pending.delete(id);
          jobs.observe(id, job.status);
          if (job.status === 'succeeded' && job.plan !== null) succeeded += 1;
          else if (job.status === 'failed' && job.error !== null) {
            failed += 1;
            if (failedSamples.length < 10) failedSamples.push(`${id}: ${job.error.code} ${job.error.detail}`);
          } else
            lost.push({
              id,
              source,
              // Nothing in the soak cancels, so a cancelled job is one the service dropped.
              reason:
                job.status === 'cancelled'
                  ? 'cancelled'
                  : `${job.status} without its ${job.status === 'failed' ? 'error' : 'plan'}`,
            });
        }
      }),
    );
    if (pending.size > 0) await sleep(1000);
  }
  for (const id of pending) {
    lost.push({ id, source: jobs.status.get(id)!.source, reason: `still ${jobs.status.get(id)!.status}` });
  }
  const drainSec = (performance.now() - drainStarted) / 1000;
  await sample('drained');
  const died = children.filter((c) => c.exitCode !== null || c.signalCode !== null);

  const kinds = Object.fromEntries(
    [...TRAFFIC_KINDS, 'finalCheck' as const].map((k) => [k, rec.summary(k, trafficSec)]),
  );
  // Its reads come after the traffic, in bursts: a rate over the traffic's seconds would mean nothing.
  kinds.finalCheck = { ...kinds.finalCheck!, requestsPerSec: null };
  const overall = rec.overall(trafficSec);
  const totalErrors = [...rec.errors.values()].reduce((a, b) => a + b, 0);
  const anomalies = Object.fromEntries(rec.anomalies);
  const rss = Object.fromEntries(
    watched.map((p) => [p.name, { pid: p.pid, ...rssSummary(samples, p.name, durationSec) }]),
  );
  const afterDrain = samples.at(-1)!;
  const sources = [...jobs.status.values()];
  const accepted = {
    total: sources.length,
    newPlans: sources.filter((s) => s.source === 'plan').length,
    sweepPoints: sources.filter((s) => s.source === 'sweep').length,
  };
  const processNames = ['api', ...children.slice(1).map((_, i) => `worker${i + 1}`)];
  const exits = died.map((c) => ({
    name: processNames[children.indexOf(c)],
    code: c.exitCode,
    signal: c.signalCode,
    duringTraffic: diedDuringTraffic.includes(c),
    outputTail: outputTail(c),
  }));

  writeResults('soak', {
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? null,
      memGiB: round(totalmem() / 2 ** 30, 1),
      loadAvg1mStart: round(loadStart[0]!, 2),
      loadAvg1mEnd: round(loadEnd[0]!, 2),
      note: 'shared machine: other test runs may have been using the CPUs during the soak',
    },
    parameters: {
      durationSec,
      clients: CLIENTS,
      thinkMs: THINK_MS,
      mix: { ...MIX, getPlan: round(1 - MIX.newPlan - MIX.dedupPlan, 2) },
      maxNewPlans: plans.length,
      maxInFlightNewPlans: MAX_IN_FLIGHT_NEW_PLANS,
      sweeps: SWEEPS,
      sweepPoints: 20,
      sweepPollMs: SWEEP_POLL_MS,
      workers: 2,
      workerConcurrency: 1,
      sampleSec: SAMPLE_SEC,
      drainTimeoutSec: DRAIN_TIMEOUT_SEC,
      seed: SEED,
    },
    targets: { errors: 0, lostJobs: 0 },
    errors: { total: totalErrors, byKind: Object.fromEntries(rec.errors), samples: rec.errorSamples },
    lostJobs: { total: lost.length, samples: lost.slice(0, 20) },
    anomalies: { ...anomalies, newPlansDeferred, samples: rec.anomalySamples },
    trafficSec: round(trafficSec, 2),
    requests: { overall, ...kinds },
    jobs: { accepted, succeeded, failed, failedSamples, drainSec: round(drainSec, 2) },
    sweeps: sweepResults,
    rss: {
      ...rss,
      afterDrainMiB: afterDrain.rssMiB,
      note: 'VmRSS from /proc every sampleSec s during the traffic; slope: least squares over its second half. Workers include their plan threads. redis is the whole server, shared with anything else using it.',
    },
    processExits: exits,
    samples: [...samples].sort((a, b) => a.tSec - b.tSec),
  });

  const line = (cells: readonly (string | number | null)[], widths: readonly number[]) =>
    cells
      .map((c, i) => (i === 0 ? String(c ?? '-').padEnd(widths[i]!) : String(c ?? '-').padStart(widths[i]!)))
      .join(' ');
  const w = [12, 8, 8, 8, 8, 7];
  const out = [
    line(['kind', 'count', 'req/s', 'p50 ms', 'p99 ms', 'errors'], w),
    ...[...TRAFFIC_KINDS, 'finalCheck' as const, 'overall' as const].map((k) => {
      const s = k === 'overall' ? overall : kinds[k]!;
      return line([k, s.count, s.requestsPerSec, s.p50Ms, s.p99Ms, s.errors], w);
    }),
    `sweeps (20 points each): ${sweepResults.map((s) => `${s.completionSec ?? 'unfinished'} s`).join(', ') || 'none'}`,
    `jobs: ${accepted.total} accepted (${accepted.newPlans} new plans, ${accepted.sweepPoints} sweep points), ${succeeded} succeeded, ${failed} failed; final check took ${drainSec.toFixed(1)} s`,
    line(['RSS MiB', 'start', 'end', 'max', 'MiB/min', ''], w),
    ...watched.map((p) => {
      const r = rssSummary(samples, p.name, durationSec);
      return line(
        [
          p.name,
          r?.startMiB ?? null,
          r?.endMiB ?? null,
          r?.maxMiB ?? null,
          r?.slopeMiBPerMinSecondHalf ?? null,
          '',
        ],
        w,
      );
    }),
    '  (MiB/min: least-squares slope over the second half of the traffic)',
    `load average (1 min): ${loadStart[0]!.toFixed(2)} at start, ${loadEnd[0]!.toFixed(2)} at end (shared machine)`,
    `errors: ${totalErrors} (target 0)   lost jobs: ${lost.length} (target 0)   anomalies: ${rec.anomalies.size === 0 ? 0 : JSON.stringify(anomalies)}   new plans deferred to dedup: ${newPlansDeferred}`,
    ...exits.map((e) => `process ${e.name} exited (code ${e.code}, signal ${e.signal}):\n${e.outputTail}`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  if (totalErrors > 0 || lost.length > 0) process.exitCode = 1;
}

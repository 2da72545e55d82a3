import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { JobQueue } from '../queue/job-queue.ts';
import { withDeadline } from './deadline.ts';

const DEPTH_DEADLINE_MS = 1_000;

/**
 * The API's Prometheus metrics. Each app owns its registry (not prom-client's global one) so several
 * apps in one process, as in tests, never collide on metric names.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'meshplan_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'meshplan_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    // Long-polls (?wait) reach 60 s, so the buckets go past the default 10 s.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly submissions = new Counter({
    name: 'meshplan_job_submissions_total',
    help: 'Plan and sweep submissions; outcome "deduplicated" when an identical request already had a job',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor(queue: JobQueue) {
    new Gauge({
      name: 'meshplan_queue_depth',
      help: 'Jobs waiting or running',
      registers: [this.registry],
      async collect() {
        // A scrape must not fail or hang because the store is down (/readyz reports that): the gauge
        // then keeps its last value.
        const depth = await withDeadline(
          queue.depth().catch(() => null),
          DEPTH_DEADLINE_MS,
          null,
        );
        if (depth !== null) this.set(depth);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'meshplan_' });
  }

  /** Counts and times every response under its route pattern (bounded cardinality, unlike raw URLs). */
  install(app: FastifyInstance): void {
    app.addHook('onResponse', async (request, reply) => {
      const labels = {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      };
      this.requests.inc(labels);
      this.requestDuration.observe(labels, reply.elapsedTime / 1000);
    });
  }
}

import type { createMeshplanClient } from '../../src/client/index.ts';
import type { PlanJob } from '../../src/schema/index.ts';

export const FINISHED = (status: string) => ['succeeded', 'failed', 'cancelled'].includes(status);

/**
 * Reads a job through the API until `until(status)` holds or `timeoutMs` passes; returns the last
 * job seen (null if never found) for the test to assert on.
 */
export async function pollJob(
  client: ReturnType<typeof createMeshplanClient>,
  id: string,
  until: (status: string) => boolean,
  timeoutMs: number,
  intervalMs = 100,
): Promise<PlanJob | null> {
  const deadline = Date.now() + timeoutMs;
  let job: PlanJob | null = null;
  for (;;) {
    const { data } = await client.GET('/v1/plans/{id}', { params: { path: { id } } });
    job = (data as PlanJob | undefined) ?? null;
    if ((job !== null && until(job.status)) || Date.now() >= deadline) return job;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

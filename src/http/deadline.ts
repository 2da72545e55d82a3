/**
 * `promise`'s value, or `fallback` once `ms` passed. Probes and scrapes must answer even when the
 * job store hangs (a Redis client queues commands while it reconnects rather than failing them).
 */
export async function withDeadline<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

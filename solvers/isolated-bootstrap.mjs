// Worker entry when solvers/ runs as TypeScript source (under tsx or vitest): a worker thread does not
// inherit the parent's module hooks, so register tsx's loader here before importing the real entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);

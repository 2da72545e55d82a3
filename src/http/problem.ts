import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { formatPath, type InputIssue, InvalidInputError } from '../schema/errors.ts';
import { invalidInputProblem, type Problem } from '../schema/problem.ts';
import { PROBLEM_CONTENT_TYPE } from './schemas.ts';

/** An RFC 9457 problem for a plain HTTP status (`about:blank`: the title is the status phrase). */
export function httpProblem(status: number, detail?: string, code?: string): Problem {
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    ...(detail === undefined ? {} : { detail }),
    ...(code === undefined ? {} : { code }),
  };
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

/** An unknown id; the central handler turns it into a 404 problem. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  readonly code = 'NOT_FOUND';
  readonly statusCode = 404;

  constructor(what: string, id: string) {
    super(`no ${what} with id "${id}"`);
  }
}

interface ValidationEntry {
  readonly instancePath: string;
  readonly keyword: string;
  readonly message?: string;
  readonly params: Record<string, unknown>;
}

/** The parts of a zod issue the mapping reads (nested union branches keep zod's own shape). */
interface ZodLikeIssue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly keys?: unknown;
  readonly errors?: unknown;
}

/** A union branch that failed only because the value has another type altogether. */
function isWrongTypeBranch(branch: readonly ZodLikeIssue[]): boolean {
  return branch.length === 1 && branch[0]!.code === 'invalid_type' && branch[0]!.path.length === 0;
}

function issuesOf(issue: ZodLikeIssue, prefix: readonly PropertyKey[]): InputIssue[] {
  const path = [...prefix, ...issue.path];
  // A misspelt field is located at the field itself, not at the object holding it.
  if (issue.code === 'unrecognized_keys' && Array.isArray(issue.keys)) {
    return issue.keys.map((key) => ({
      path: formatPath([...path, String(key)]),
      message: `unknown field "${String(key)}"`,
    }));
  }
  // zod says only "Invalid input" for a union (cluster.gpu: a catalog id or a GPU object); when the
  // value has the type of exactly one branch, that branch's issues say what is really wrong.
  if (issue.code === 'invalid_union' && Array.isArray(issue.errors)) {
    const branches = issue.errors as ZodLikeIssue[][];
    const matching = branches.filter((branch) => !isWrongTypeBranch(branch));
    if (matching.length === 1) return matching[0]!.flatMap((inner) => issuesOf(inner, path));
  }
  return [{ path: formatPath(path), message: issue.message }];
}

/**
 * fastify-type-provider-zod reports zod issues as JSON-pointer `instancePath`s; the rest of meshplan
 * (CLI, planner errors) speaks in `cluster.gpu` / `ops[3].einsum` paths, so they are rewritten here.
 * A purely numeric segment is read as an array index: request records are keyed by names, not numbers.
 */
function validationIssues(entries: readonly ValidationEntry[]): InputIssue[] {
  return entries.flatMap((entry) => {
    const path = entry.instancePath
      .split('/')
      .slice(1)
      .filter((segment) => segment !== '')
      .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
    const issue = { ...entry.params, code: entry.keyword, path, message: entry.message ?? 'invalid value' };
    return issuesOf(issue, []);
  });
}

const VALIDATION_CONTEXTS: Readonly<Record<NonNullable<FastifyError['validationContext']>, string>> = {
  body: 'request body',
  querystring: 'query string',
  params: 'path parameters',
  headers: 'headers',
};

/*
 * What ioredis (under BullMQ) throws while Redis is away: a refused or reset connection, a closed
 * or not-yet-ready connection, or its retry limit per command; and the queue's own
 * StoreUnavailableError (code STORE_UNAVAILABLE) before Redis was first reached. The client
 * reconnects by itself, so the caller is told to retry (503), not that the server broke (500).
 */
const STORE_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);
const STORE_ERROR_MESSAGES =
  /Connection is closed|Stream isn't writeable|Reached the max retries per request limit|connect ECONNREFUSED/;

export function isStoreUnavailable(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    code === 'STORE_UNAVAILABLE' ||
    error.name === 'MaxRetriesPerRequestError' ||
    (typeof code === 'string' && STORE_ERROR_CODES.has(code)) ||
    STORE_ERROR_MESSAGES.test(error.message)
  );
}

function problemFor(error: FastifyError | Error, request: FastifyRequest): Problem {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = (error as FastifyError).validationContext;
    return invalidInputProblem(
      validationIssues(error.validation as readonly ValidationEntry[]),
      `invalid ${where === undefined ? 'request' : VALIDATION_CONTEXTS[where]}`,
    );
  }
  if (error instanceof InvalidInputError) {
    // The message repeats every issue; `errors` already lists them, so the detail keeps its head.
    return invalidInputProblem(error.issues, error.message.split(':')[0] ?? 'invalid input');
  }
  // The queue's errors cross process boundaries, so it asks callers to branch on `code`.
  if ((error as { code?: unknown }).code === 'QUEUE_CLOSED') {
    return httpProblem(503, 'the server is shutting down; retry on another instance', 'QUEUE_CLOSED');
  }
  if (isStoreUnavailable(error)) {
    return httpProblem(503, 'the job store (Redis) is not reachable; retry shortly', 'STORE_UNAVAILABLE');
  }
  const status = (error as FastifyError).statusCode;
  if (status === 413) {
    return httpProblem(
      413,
      `the request body is larger than the ${request.routeOptions.bodyLimit} bytes this server accepts`,
      'PAYLOAD_TOO_LARGE',
    );
  }
  // Fastify's own 4xx errors (malformed JSON, wrong media type …) carry messages meant for the caller.
  if (status !== undefined && status >= 400 && status < 500) {
    return httpProblem(status, error.message, (error as FastifyError).code);
  }
  return httpProblem(500, 'the server failed to handle this request; it has been logged');
}

/**
 * One error handler for the whole app: every failure leaves as `application/problem+json`, bad input
 * as a 400 naming each field, and server faults without their message or stack.
 */
export function installProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    const problem = { ...problemFor(error, request), instance: request.url };
    if (problem.status === 503) {
      // An expected condition (Redis away, shutting down), once per request while it lasts: one line
      // naming it, not a stack trace each.
      request.log.warn({ problem: problem.code, cause: error.message }, 'request refused');
    } else if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ problem: problem.code ?? problem.title }, 'request rejected');
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      ...httpProblem(404, `no route ${request.method} ${request.url.split('?')[0]}`, 'ROUTE_NOT_FOUND'),
      instance: request.url,
    }),
  );
}

/**
 * Errors the router raises before any handler or hook runs (a malformed URL, a path segment past
 * `maxParamLength`): fastify would answer them in its own JSON shape.
 */
export function frameworkProblem(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 400;
  void sendProblem(reply, {
    ...httpProblem(status, error.message.slice(0, 200), error.code),
    instance: request.url.slice(0, 300),
  });
}

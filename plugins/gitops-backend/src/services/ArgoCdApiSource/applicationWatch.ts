import {
  ApplicationWatchEvent,
  GitopsSourceError,
} from '@gitops-backstage/plugin-gitops-node';

/** A change line of Argo CD's watch stream. */
export interface StreamEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  application: unknown;
}

/** What one instance offers the watch: a full List and a stream from a version. */
export interface WatchPrimitives {
  list(signal: AbortSignal): Promise<{
    items: unknown[];
    resourceVersion?: string;
  }>;
  /** Throws a {@link StreamRefusedError} when the instance does not serve streams. */
  stream(
    resourceVersion: string | undefined,
    signal: AbortSignal,
  ): AsyncIterable<StreamEvent>;
}

export interface WatchTiming {
  /** The first reconnect's delay; it doubles with each failure in a row. */
  backoffMs: number;
  maxBackoffMs: number;
  /** How often to List instead while the stream is refused. */
  pollMs: number;
  /** How long to poll before trying the stream again. */
  streamRetryMs: number;
  /**
   * A watch is listed anew this often however quiet it is: a connection that died
   * without a word (no keepalives on this stream) costs at most this long.
   */
  resyncMs: number;
}

/** The stream endpoint answered that it will not stream (a proxy refusing long answers). */
export class StreamRefusedError extends GitopsSourceError {}

/**
 * List, then watch from the List's resourceVersion; after any break, wait (backing off)
 * and List again, so a gap is repaired by the new snapshot. Where the stream is
 * refused, a List every `pollMs` keeps the snapshot current instead.
 */
export async function* watchApplications(
  primitives: WatchPrimitives,
  timing: WatchTiming,
  signal: AbortSignal,
): AsyncGenerator<ApplicationWatchEvent> {
  let failures = 0;
  let pollUntil = 0;
  while (!signal.aborted) {
    try {
      const { items, resourceVersion } = await primitives.list(signal);
      yield { type: 'snapshot', applications: items };
      if (signal.aborted) return;
      if (Date.now() < pollUntil) {
        failures = 0;
        await sleep(timing.pollMs, signal);
        continue;
      }
      const resync = new AbortController();
      const timer = setTimeout(() => resync.abort(), timing.resyncMs);
      const round = AbortSignal.any([signal, resync.signal]);
      try {
        for await (const event of primitives.stream(resourceVersion, round)) {
          failures = 0;
          yield event;
        }
      } catch (error) {
        if (!round.aborted) throw error;
      } finally {
        clearTimeout(timer);
      }
      if (signal.aborted) return;
      // Resynced: list again at once.
      if (round.aborted) continue;
      throw new GitopsSourceError('unreachable', 'The watch stream ended');
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof StreamRefusedError) {
        pollUntil = Date.now() + timing.streamRetryMs;
        continue;
      }
      yield {
        type: 'disconnected',
        error:
          error instanceof GitopsSourceError
            ? error
            : new GitopsSourceError('invalid-response', String(error)),
      };
      const delay = Math.min(
        timing.backoffMs * 2 ** failures,
        timing.maxBackoffMs,
      );
      failures++;
      // Jitter, so replicas do not reconnect to a recovering instance in step.
      await sleep(delay * (0.5 + Math.random() / 2), signal);
    }
  }
}

/**
 * The events of a watch answer: newline-delimited `{"result": {type, application}}`
 * objects; an `{"error": …}` line ends the stream with that error.
 */
export async function* streamEvents(
  body: AsyncIterable<Uint8Array>,
  invalid: (message: string) => GitopsSourceError,
): AsyncGenerator<StreamEvent> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    const lines = buffered.split('\n');
    // The last piece is a line still to be completed by the next chunk.
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line.trim()) yield eventOf(line.trim(), invalid);
    }
  }
  const rest = (buffered + decoder.decode()).trim();
  if (rest) yield eventOf(rest, invalid);
}

const TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED']);

function eventOf(
  line: string,
  invalid: (message: string) => GitopsSourceError,
): StreamEvent {
  let parsed: any;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw invalid('streamed a line that is not JSON');
  }
  if (parsed?.error) {
    const message =
      typeof parsed.error.message === 'string'
        ? `: ${parsed.error.message}`
        : '';
    throw invalid(`ended its watch stream with an error${message}`);
  }
  const result = parsed?.result;
  if (
    !TYPES.has(result?.type) ||
    typeof result.application !== 'object' ||
    result.application === null
  ) {
    throw invalid('streamed an event without a type and an application');
  }
  return { type: result.type, application: result.application };
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal) {
  return new Promise<void>(resolve => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });
}

import { setTimeout as delay } from 'node:timers/promises';
import type {
  KubeConfig,
  KubernetesListObject,
  KubernetesObject,
  Watch,
} from '@kubernetes/client-node';
import {
  ApplicationWatchEvent,
  GitopsSourceError,
} from '@gitops-backstage/plugin-gitops-node';
import { clientNode } from './clientNode';

export interface InformerTiming {
  /** The first restart's delay; it doubles with each failure in a row. */
  backoffMs: number;
  maxBackoffMs: number;
}

export interface ApplicationInformerOptions {
  kubeConfig: KubeConfig;
  /** The collection to watch, e.g. `/apis/argoproj.io/v1alpha1/applications`. */
  path: string;
  /** Lists the collection; the informer watches from the List's resourceVersion. */
  list(signal: AbortSignal): Promise<KubernetesListObject<KubernetesObject>>;
  /** What an informer's failure means to a user. */
  errorOf(error: unknown): GitopsSourceError;
  timing: InformerTiming;
}

/**
 * client-node's Watch, done for good once `stopped` aborts. ListWatch.stop() cannot
 * close a watch the informer opens later (after its own pause or List): this one opens
 * none then, and closes one that was still connecting.
 */
function stoppableWatch(
  WatchClass: typeof Watch,
  config: KubeConfig,
  stopped: AbortSignal,
): Watch {
  const watch = new WatchClass(config);
  const open = watch.watch.bind(watch);
  watch.watch = async (...args) => {
    // Never connected: the informer waits for a `done` that never comes, holding nothing.
    if (stopped.aborted) return new AbortController();
    const request = await open(...args);
    if (stopped.aborted) request.abort();
    return request;
  };
  return watch;
}

/**
 * Every Application of the collection as it changes, from client-node's informer. The
 * informer lists, watches from the List's resourceVersion, and after a 410 Gone lists
 * again by itself (what changed then comes as changes). An informer that fails stops:
 * this yields `disconnected`, starts a new one after a backoff, and yields its List
 * as a new snapshot, which repairs whatever the gap missed.
 */
export async function* watchWithInformer(
  options: ApplicationInformerOptions,
  signal: AbortSignal,
): AsyncGenerator<ApplicationWatchEvent> {
  let failures = 0;
  while (!signal.aborted) {
    const ended = yield* informerRound(options, signal);
    if (signal.aborted) return;
    if (ended.started) failures = 0;
    yield { type: 'disconnected', error: options.errorOf(ended.error) };
    const backoff = Math.min(
      options.timing.backoffMs * 2 ** failures,
      options.timing.maxBackoffMs,
    );
    failures++;
    // Jitter, so replicas do not reconnect to a recovering API server in step.
    await delay(backoff * (0.5 + Math.random() / 2), undefined, {
      signal,
    }).catch(() => undefined);
  }
}

/**
 * One informer: its List as a snapshot, then its changes, until it fails (whether it
 * had started, and its error, are returned) or `signal` aborts.
 */
async function* informerRound(
  options: ApplicationInformerOptions,
  signal: AbortSignal,
): AsyncGenerator<ApplicationWatchEvent, { started: boolean; error: unknown }> {
  // Ends this informer's every request and pause, whichever way the round ends.
  const round = new AbortController();
  const stopped = AbortSignal.any([signal, round.signal]);
  const k8s = await clientNode();
  const informer = new k8s.ListWatch<KubernetesObject>(
    options.path,
    stoppableWatch(k8s.Watch, options.kubeConfig, stopped),
    () => options.list(stopped),
    false,
    undefined,
    undefined,
    {
      delayFn: ms =>
        delay(ms, undefined, { signal: stopped }).catch(() => undefined),
    },
  );
  const changes: ApplicationWatchEvent[] = [];
  // What failed the informer; the first is what it stopped for.
  const errors: unknown[] = [];
  let wake = () => {};
  const woken = () => new Promise<void>(resolve => (wake = resolve));
  let started = false;
  const queue =
    (type: 'ADDED' | 'MODIFIED' | 'DELETED') =>
    (application: KubernetesObject) => {
      // The first List's items come as additions too: the snapshot holds them.
      if (!started) return;
      changes.push({ type, application });
      wake();
    };
  informer.on('add', queue('ADDED'));
  informer.on('update', queue('MODIFIED'));
  informer.on('delete', queue('DELETED'));
  informer.on('error', error => {
    errors.push(error);
    wake();
  });
  const onAbort = () => wake();
  signal.addEventListener('abort', onAbort);
  try {
    await informer.start().catch(error => errors.push(error));
    if (errors.length > 0 || signal.aborted)
      return { started, error: errors[0] };
    started = true;
    yield { type: 'snapshot', applications: [...informer.list()] };
    while (!signal.aborted) {
      const change = changes.shift();
      if (change) yield change;
      else if (errors.length > 0) break;
      else await woken();
    }
    return { started, error: errors[0] };
  } finally {
    signal.removeEventListener('abort', onAbort);
    round.abort();
    await informer.stop();
  }
}

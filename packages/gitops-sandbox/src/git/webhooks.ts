import fs from 'node:fs/promises';
import path from 'node:path';
import { RepoInfo } from './pushFacts';
import { pushDelivery } from './pushPayloads';

/** Where the sandbox's Git server posts push events, as a GitHub or GitLab webhook. */
export interface WebhookReceiver {
  url: string;
  kind: 'github' | 'gitlab';
  /**
   * GitHub: the key of `X-Hub-Signature-256` (HMAC-SHA256 of the body); GitLab: sent
   * as `X-Gitlab-Token`. Without one, neither header is sent, as those hosts do.
   */
  secret?: string;
}

/** One ref a push changed, as `post-receive` hears of it. */
export interface RefUpdate {
  ref: string;
  before: string;
  after: string;
}

/** A receiver as the control API shows it: no secret, no credentials in the URL. */
export interface WebhookSummary {
  url: string;
  kind: WebhookReceiver['kind'];
  signed: boolean;
}

const summary = (r: WebhookReceiver): WebhookSummary => ({
  url: redactUrl(r.url),
  kind: r.kind,
  signed: Boolean(r.secret),
});

/** A receiver that does not answer in this long has failed this delivery. */
export const WEBHOOK_TIMEOUT_MS = 5000;

/**
 * The `post-receive` hook the Git server runs through `core.hooksPath`: it appends the
 * updated refs (`<old> <new> <ref>` lines) to the file the server named for this
 * request, so the server hears exactly which refs a push changed.
 */
export const POST_RECEIVE_HOOK = `#!/bin/sh
# Written by the gitops sandbox's Git server: hands the refs a push updated to it,
# then runs the repository's own post-receive hook, if any, with the same input.
input=$(cat)
if [ -n "$SANDBOX_PUSH_LOG" ]; then printf '%s\\n' "$input" >> "$SANDBOX_PUSH_LOG"; fi
own="$GIT_DIR/hooks/post-receive"
if [ -x "$own" ]; then printf '%s\\n' "$input" | "$own" "$@"; fi
exit 0
`;

/**
 * core.hooksPath replaces each repository's hooks directory: these run the
 * repository's own hook of the same name, so hooks set on one repository still work.
 */
const CHAINED_HOOKS = ['pre-receive', 'update', 'post-update'];
const chainedHook = (name: string) => `#!/bin/sh
own="$GIT_DIR/hooks/${name}"
if [ -x "$own" ]; then exec "$own" "$@"; fi
exit 0
`;

/** Parses `post-receive` input. */
export function parseRefUpdates(text: string): RefUpdate[] {
  return text
    .split('\n')
    .map(line => line.trim().split(' '))
    .filter(parts => parts.length === 3)
    .map(([before, after, ref]) => ({ ref, before, after }));
}

/** A receiver's URL without credentials, query or fragment: what a log may show. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

/** An error message with the receiver's URL redacted and its secret removed. */
function scrub(message: string, receiver: WebhookReceiver) {
  let text = message.split(receiver.url).join(redactUrl(receiver.url));
  const { password, search } = (() => {
    try {
      return new URL(receiver.url);
    } catch {
      return { password: '', search: '' };
    }
  })();
  for (const secret of [receiver.secret, password, search.slice(1)]) {
    if (secret) text = text.split(secret).join('<redacted>');
  }
  return text;
}

/** Checks a receiver given through the control API or the options. */
export function validReceiver(input: any): WebhookReceiver {
  const kind = input?.kind;
  if (kind !== 'github' && kind !== 'gitlab') {
    throw new Error('webhook kind must be "github" or "gitlab"');
  }
  let url: URL;
  try {
    url = new URL(String(input?.url ?? ''));
  } catch {
    throw new Error('webhook url must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error('webhook url must be an absolute http(s) URL');
  }
  if (input.secret !== undefined && typeof input.secret !== 'string') {
    throw new Error('webhook secret must be a string');
  }
  return { url: url.toString(), kind, secret: input.secret || undefined };
}

/**
 * Posts push events to the receivers, one request per receiver and updated ref, in
 * the order of the pushes. Never throws: a failure is logged (URL without
 * credentials, never a secret) once per receiver until one of its deliveries works
 * again, so a receiver that is not up yet does not flood the log.
 */
export class WebhookSender {
  readonly #receivers: WebhookReceiver[];
  readonly #failing = new Set<WebhookReceiver>();
  readonly #timeoutMs: number;
  #queue: Promise<void> = Promise.resolve();

  constructor(
    receivers: WebhookReceiver[] = [],
    timeoutMs = WEBHOOK_TIMEOUT_MS,
  ) {
    this.#receivers = receivers.map(validReceiver);
    this.#timeoutMs = timeoutMs;
  }

  /** Adds a receiver; answers it as {@link WebhookSender.list} shows it. */
  add(receiver: WebhookReceiver): WebhookSummary {
    const valid = validReceiver(receiver);
    this.#receivers.push(valid);
    return summary(valid);
  }

  /** The receivers, without their secrets. */
  list(): WebhookSummary[] {
    return this.#receivers.map(summary);
  }

  /** Queues the deliveries of one push; answers when they are done. */
  push(repo: RepoInfo, updates: RefUpdate[]): Promise<void> {
    if (this.#receivers.length === 0 || updates.length === 0) {
      return this.#queue;
    }
    const receivers = [...this.#receivers];
    this.#queue = this.#queue.then(async () => {
      for (const update of updates) {
        for (const [index, receiver] of receivers.entries()) {
          await this.#deliver(receiver, index + 1, repo, update);
        }
      }
    });
    return this.#queue;
  }

  /** Answers once every queued delivery is done (each has its timeout). */
  idle(): Promise<void> {
    return this.#queue;
  }

  async #deliver(
    receiver: WebhookReceiver,
    hookId: number,
    repo: RepoInfo,
    update: RefUpdate,
  ) {
    const what = `push to ${repo.name} ${update.ref} for ${
      receiver.kind
    } receiver ${redactUrl(receiver.url)}`;
    let failure: string | undefined;
    try {
      const { headers, body } = await pushDelivery(
        receiver,
        repo,
        update,
        hookId,
      );
      // Credentials in the URL go as basic auth, as GitHub sends them.
      const target = new URL(receiver.url);
      const credentials =
        target.username || target.password
          ? `${decodeURIComponent(target.username)}:${decodeURIComponent(
              target.password,
            )}`
          : undefined;
      target.username = '';
      target.password = '';
      const res = await fetch(target, {
        method: 'POST',
        headers: {
          ...headers,
          ...(credentials && {
            authorization: `Basic ${Buffer.from(credentials).toString(
              'base64',
            )}`,
          }),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) {
        failure = `answered ${res.status}`;
      }
    } catch (error: any) {
      failure =
        error?.name === 'TimeoutError'
          ? `no answer within ${this.#timeoutMs} ms`
          : scrub(
              [
                error?.message ?? String(error),
                error?.cause?.code ?? error?.cause?.message,
              ]
                .filter(Boolean)
                .join(': '),
              receiver,
            );
    }
    if (failure === undefined) {
      this.#failing.delete(receiver);
      return;
    }
    if (!this.#failing.has(receiver)) {
      this.#failing.add(receiver);
      // eslint-disable-next-line no-console
      console.warn(
        `sandbox webhook: delivering the ${what} failed: ${failure} (the push itself succeeded; further failures of this receiver are not logged until a delivery works)`,
      );
    }
  }
}

/** Reads and removes the refs a request's `post-receive` hook wrote down. */
export async function takeRefUpdates(logFile: string): Promise<RefUpdate[]> {
  const text = await fs.readFile(logFile, 'utf8').catch(() => '');
  await fs.rm(logFile, { force: true });
  return parseRefUpdates(text);
}

/** Writes the hooks directory the server points `core.hooksPath` at. */
export async function writeHooks(dir: string) {
  await fs.mkdir(path.join(dir, 'pushes'), { recursive: true });
  await fs.writeFile(path.join(dir, 'post-receive'), POST_RECEIVE_HOOK, {
    mode: 0o755,
  });
  for (const name of CHAINED_HOOKS) {
    await fs.writeFile(path.join(dir, name), chainedHook(name), {
      mode: 0o755,
    });
  }
}

import {
  ApplicationWatchEvent,
  GitopsSourceError,
} from '@gitops-backstage/plugin-gitops-node';
import {
  StreamEvent,
  StreamRefusedError,
  streamEvents,
  watchApplications,
  WatchPrimitives,
} from './applicationWatch';

const timing = {
  backoffMs: 1,
  maxBackoffMs: 4,
  pollMs: 1,
  resyncMs: 60_000,
  streamRetryMs: 60_000,
};
const app = (name: string, version: string) => ({
  metadata: { name, resourceVersion: version },
});

/** Takes events from the watch until `count` or the end. */
async function take(
  events: AsyncIterable<ApplicationWatchEvent>,
  count: number,
  controller: AbortController,
) {
  const seen: ApplicationWatchEvent[] = [];
  for await (const event of events) {
    seen.push(event);
    if (seen.length === count) controller.abort();
  }
  return seen;
}

describe('watchApplications', () => {
  it('lists, watches from the List version, and after a break lists again (the gap repaired)', async () => {
    const streams: Array<string | undefined> = [];
    let lists = 0;
    const primitives: WatchPrimitives = {
      list: async () => {
        lists++;
        return { items: [app('a', `${lists}0`)], resourceVersion: `${lists}0` };
      },
      async *stream(resourceVersion) {
        streams.push(resourceVersion);
        yield {
          type: 'MODIFIED',
          application: app('a', `${resourceVersion}1`),
        };
        // then the connection drops
      },
    };
    const controller = new AbortController();
    const seen = await take(
      watchApplications(primitives, timing, controller.signal),
      5,
      controller,
    );
    expect(seen.map(e => e.type)).toEqual([
      'snapshot',
      'MODIFIED',
      'disconnected',
      'snapshot',
      'MODIFIED',
    ]);
    expect(streams).toEqual(['10', '20']);
    expect((seen[2] as any).error).toBeInstanceOf(GitopsSourceError);
  });

  it('lists every pollMs where the stream is refused, and reports failures', async () => {
    let lists = 0;
    let streams = 0;
    const primitives: WatchPrimitives = {
      list: async () => {
        lists++;
        if (lists === 3) throw new GitopsSourceError('unreachable', 'down');
        return { items: [app('a', String(lists))] };
      },
      // eslint-disable-next-line require-yield
      async *stream() {
        streams++;
        throw new StreamRefusedError('upstream-error', 'refused (404)');
      },
    };
    const controller = new AbortController();
    const seen = await take(
      watchApplications(primitives, timing, controller.signal),
      4,
      controller,
    );
    expect(seen.map(e => e.type)).toEqual([
      'snapshot',
      'snapshot',
      'disconnected',
      'snapshot',
    ]);
    // Refused once: the stream is not asked again within streamRetryMs.
    expect(streams).toBe(1);
  });

  it('lists anew after resyncMs of a quiet stream, without calling it a break', async () => {
    const primitives: WatchPrimitives = {
      list: async () => ({ items: [], resourceVersion: '1' }),
      async *stream(_resourceVersion, signal) {
        // Quiet until aborted, as a watch with nothing to say.
        if (!signal.aborted)
          await new Promise(resolve =>
            signal.addEventListener('abort', resolve),
          );
        yield* [];
        throw signal.reason;
      },
    };
    const controller = new AbortController();
    const seen = await take(
      watchApplications(
        primitives,
        { ...timing, resyncMs: 5 },
        controller.signal,
      ),
      3,
      controller,
    );
    expect(seen.map(e => e.type)).toEqual(['snapshot', 'snapshot', 'snapshot']);
  });

  it('stops when the signal aborts, even while waiting to reconnect', async () => {
    const controller = new AbortController();
    const primitives: WatchPrimitives = {
      list: async () => {
        throw new GitopsSourceError('unreachable', 'down');
      },
      async *stream() {},
    };
    const events = watchApplications(
      primitives,
      { ...timing, backoffMs: 3_600_000, maxBackoffMs: 3_600_000 },
      controller.signal,
    );
    const seen: string[] = [];
    const done = (async () => {
      for await (const event of events) {
        seen.push(event.type);
        controller.abort();
      }
    })();
    await done;
    expect(seen).toEqual(['disconnected']);
  });
});

describe('streamEvents', () => {
  const invalid = (message: string) =>
    new GitopsSourceError('invalid-response', message);
  async function* chunks(...parts: string[]) {
    for (const part of parts) yield new TextEncoder().encode(part);
  }
  const all = async (body: AsyncIterable<Uint8Array>) => {
    const events: StreamEvent[] = [];
    for await (const event of streamEvents(body, invalid)) events.push(event);
    return events;
  };

  it('reads newline-delimited results, whatever the chunking', async () => {
    const line = (type: string, name: string) =>
      `${JSON.stringify({
        result: { type, application: { metadata: { name } } },
      })}\n`;
    const text =
      line('ADDED', 'a') + line('MODIFIED', 'b') + line('DELETED', 'c');
    const events = await all(
      chunks(text.slice(0, 7), text.slice(7, 60), text.slice(60)),
    );
    expect(
      events.map(e => [e.type, (e.application as any).metadata.name]),
    ).toEqual([
      ['ADDED', 'a'],
      ['MODIFIED', 'b'],
      ['DELETED', 'c'],
    ]);
  });

  it('ends with a clear error on an error line, a line that is not JSON, or an event without an application', async () => {
    await expect(
      all(chunks('{"error":{"code":7,"message":"permission denied"}}\n')),
    ).rejects.toThrow(
      'ended its watch stream with an error: permission denied',
    );
    await expect(all(chunks('<html>\n'))).rejects.toThrow(
      'streamed a line that is not JSON',
    );
    await expect(
      all(chunks('{"result":{"type":"BOOKMARK"}}\n')),
    ).rejects.toThrow('streamed an event without a type and an application');
  });
});

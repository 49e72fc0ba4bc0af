import { entitySignalChannel } from '@gitops-backstage/plugin-gitops-common';
import {
  eventually,
  Sandbox,
  settled,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import { Knex } from 'knex';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import {
  auditEvents,
  Replica,
  ReplicaDatabases,
} from './__testUtils__/replicaProcesses';
import {
  commitsAfter,
  newVersionInDev,
  replicaApi,
  startReplicaPair,
} from './__testUtils__/replicaPair';
import { component, gitIn, tagInGit } from './__testUtils__/sandboxBackend';
import { productionServices } from './__testUtils__/testServices';

// Two backend processes, PostgreSQL, Redis and the sandbox beside other suites on a
// loaded 2-core machine: each test's deadline is minutes; every wait ends as soon as
// the state it waits for is there.
const MINUTE = 60_000;

const services = productionServices();

const entities = ['service-a', 'service-b'].map(name =>
  component(name, { 'argocd/app-selector': `app.kubernetes.io/name=${name}` }),
);

(services ? describe : describe.skip)(
  'two backend replicas as processes on one PostgreSQL, one Redis and one sandbox',
  () => {
    let dir: string;
    let sandbox: Sandbox;
    let sandboxDir: string;
    let databases: ReplicaDatabases;
    let gitopsDb: Knex;
    let eventsDb: Knex;
    let replicas: Replica[] = [];
    const sockets: WebSocket[] = [];
    // What the test calls the replicas with: a static external-access token.
    const apiToken = randomBytes(24).toString('hex');
    const run = randomBytes(4).toString('hex');
    // A failed test keeps the replicas' logs (the temporary directory) for reading.
    const TESTS = 3;
    let passed = 0;

    beforeAll(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-replicas-'));
      sandboxDir = path.join(dir, 'sandbox');
      sandbox = await startTestSandbox({ dir: sandboxDir });
      await settled(sandbox);
      ({ replicas, databases } = await startReplicaPair({
        sandbox,
        services: services!,
        entities,
        dir,
        apiToken,
      }));
      gitopsDb = databases.plugin('gitops');
      eventsDb = databases.plugin('events');
    }, 10 * MINUTE);

    afterAll(async () => {
      for (const socket of sockets) socket.terminate();
      for (const replica of replicas) replica.kill();
      await Promise.all(replicas.map(r => r.exited));
      await sandbox?.stop();
      await databases?.drop();
      if (passed < TESTS) {
        // eslint-disable-next-line no-console
        console.warn(`Replica logs and configs kept in ${dir}`);
      } else if (dir) await fs.rm(dir, { recursive: true, force: true });
    }, 5 * MINUTE);

    const api = (replica: Replica, route: string, body?: object) =>
      replicaApi(replica, apiToken, route, body);

    const promote = (replica: Replica, entity: string, body: object) =>
      api(replica, `/entities/component/default/${entity}/promotions`, body);
    const head = async (repo: string) =>
      (await gitIn(sandboxDir, repo, 'rev-parse', 'main')).trim();
    const tagOf = (repo: string, environment: string) =>
      tagInGit(sandboxDir, repo, `chart/values-${environment}.yaml`);

    /**
     * Connects to a replica's signals endpoint as @backstage/plugin-signals' client
     * does (a new attempt when one does not open: the signals backend hooks the
     * server's upgrades on the first request that reaches it).
     */
    const connectSignals = (replica: Replica) =>
      eventually(
        () =>
          new Promise<WebSocket | undefined>(resolve => {
            const socket = new WebSocket(
              `${replica.url.replace('http', 'ws')}/api/signals`,
              { handshakeTimeout: 2000 },
            );
            socket.once('open', () => {
              sockets.push(socket);
              resolve(socket);
            });
            socket.once('error', () => {
              socket.terminate();
              resolve(undefined);
            });
          }),
        `a signals connection to ${replica.name}`,
        2 * MINUTE,
      );

    it(
      'a change only replica 1 watches reaches a browser connected to replica 2, through the events bus in PostgreSQL',
      async () => {
        const channel = entitySignalChannel('component:default/service-b');
        const socket = await connectSignals(replicas[1]);
        const received: Array<{ channel: string; message: unknown }> = [];
        socket.on('message', data => received.push(JSON.parse(String(data))));
        socket.send(JSON.stringify({ action: 'subscribe', channel }));
        // Frames are taken in order: the pong to a later ping means replica 2 has the
        // subscription.
        await new Promise(resolve => {
          socket.once('pong', resolve);
          socket.ping();
        });
        // Both replicas' signals managers are subscribed to the bus, and replica 1
        // (only it) watches each instance.
        await eventually(async () => {
          const subscriptions = await eventsDb('event_bus_subscriptions').where(
            'id',
            'like',
            'signals.%',
          );
          return subscriptions.length === 2 || undefined;
        }, 'both replicas subscribed to signals on the bus');
        await eventually(
          async () =>
            sandbox.instances.every(i => sandbox.streams(i.name).open === 1) ||
            undefined,
          "replica 1's watch of every instance",
        );
        expect(received).toEqual([]);

        // Someone breaks service-b in prod; Argo CD reports it Degraded.
        sandbox.setApplicationFaults('prod', 'service-b-prod', {
          degraded: true,
        });
        try {
          await eventually(
            async () => received.some(r => r.channel === channel) || undefined,
            `a signal on ${channel} at replica 2`,
            3 * MINUTE,
          );
        } finally {
          sandbox.setApplicationFaults('prod', 'service-b-prod', {});
        }
        expect(received.filter(r => r.channel === channel)[0]).toEqual({
          channel,
          message: { changed: 'live' },
        });
        // Replica 2 never watched: the signal can only have come from replica 1.
        for (const instance of sandbox.instances)
          expect(sandbox.streams(instance.name).open).toBe(1);
        passed++;
      },
      10 * MINUTE,
    );

    it(
      '50 promotions, each sent to one replica and retried at once on the other with its key: one record and one commit per key, a linear history, audited',
      async () => {
        const streams = [
          { entity: 'service-a', repo: 'service-a-config' },
          { entity: 'service-b', repo: 'service-b-config' },
        ];
        const perStream = 25;
        // Two entities at once (their config repositories apart), each a sequence into
        // prod alternating its source (dev, staging), so every promotion changes prod.
        const results = await Promise.all(
          streams.map(async ({ entity, repo }, s) => {
            if ((await tagOf(repo, 'dev')) === (await tagOf(repo, 'staging')))
              await newVersionInDev(sandbox, entity, repo, `c0ffee${s}`);
            const base = await head(repo);
            const sources: Record<string, string> = {
              dev: await tagOf(repo, 'dev'),
              staging: await tagOf(repo, 'staging'),
            };
            // The first source is the one prod does not run yet.
            const offset = (await tagOf(repo, 'prod')) === sources.dev ? 1 : 0;
            const steps = [];
            for (let j = 0; j < perStream; j++) {
              const from = (j + offset) % 2 === 0 ? 'dev' : 'staging';
              const key = `replicas-${run}-${entity}-${j}`;
              const sentTo = replicas[(j + s) % 2];
              const retriedOn = replicas[(j + s + 1) % 2];
              const body = { from, to: 'prod', idempotencyKey: key };
              const answers = await Promise.all([
                promote(sentTo, entity, body),
                promote(retriedOn, entity, body),
              ]);
              steps.push({ key, version: sources[from], answers });
            }
            return { entity, repo, base, steps };
          }),
        );

        const ids: string[] = [];
        for (const { repo, base, steps } of results) {
          for (const { version, answers } of steps) {
            // One answer wrote (201), the other answered its record (200, replayed).
            expect(
              answers.map(a => (a.status >= 400 ? a.body : a.status)).sort(),
            ).toEqual([200, 201]);
            const [created, replayed] =
              answers[0].status === 201 ? answers : [answers[1], answers[0]];
            expect(created.body).toMatchObject({
              status: 'committed',
              version,
              commit: expect.stringMatching(/^[0-9a-f]{40}$/),
            });
            expect(replayed.body).toMatchObject({
              id: created.body.id,
              commit: created.body.commit,
              replayed: true,
            });
            ids.push(created.body.id);
          }
          // No lost update: each commit's parent is the one before it, in the order the
          // promotions were answered, and the file ends at the last promoted version.
          const commits = await commitsAfter(sandboxDir, repo, base);
          expect(commits).toEqual(
            steps.map((step, j) => ({
              sha: step.answers.find(a => a.status === 201)!.body.commit,
              parents: [j === 0 ? base : commits[j - 1].sha],
              promotionId: step.answers.find(a => a.status === 201)!.body.id,
            })),
          );
          expect(await tagOf(repo, 'prod')).toBe(steps[perStream - 1].version);
        }

        // One record per key in the shared database, each the one both replicas answered.
        const rows = await gitopsDb('gitops_promotions').where(
          'idempotency_key',
          'like',
          `replicas-${run}-%`,
        );
        expect(rows.map(r => r.id).sort()).toEqual([...ids].sort());
        expect(new Set(rows.map(r => r.status))).toEqual(
          new Set(['committed']),
        );

        // Every request audited where it was answered: per record one success on each
        // replica (the write and the replay), and no failure.
        const promotionEvents = () =>
          replicas.map(r =>
            auditEvents(r).filter(e => e.eventId === 'promotion'),
          );
        const succeeded = await eventually(async () => {
          const events = promotionEvents().map(e =>
            e.filter(x => x.status === 'succeeded'),
          );
          return events.every(e => e.length >= ids.length) ? events : undefined;
        }, 'the audit events of every request');
        for (const events of succeeded) {
          expect(events.map(e => e.meta.promotion).sort()).toEqual(
            [...ids].sort(),
          );
        }
        expect(
          promotionEvents()
            .flat()
            .filter(e => e.status === 'failed'),
        ).toEqual([]);
        passed++;
      },
      15 * MINUTE,
    );

    it(
      'a replica killed while its push is held: the push lands, the other replica settles the record from Git, and the retried request answers it',
      async () => {
        const [victim, survivor] = replicas;
        const repo = 'service-a-config';
        const hold = path.join(dir, 'hold');
        await fs.mkdir(hold);
        // The config repository's own pre-receive hook holds every push until released.
        const hook = path.join(
          sandboxDir,
          'repos',
          `${repo}.git`,
          'hooks',
          'pre-receive',
        );
        await fs.writeFile(
          hook,
          `#!/bin/sh\ncat >/dev/null\ntouch '${hold}/held'\nwhile [ ! -f '${hold}/release' ]; do sleep 0.05; done\nexit 0\n`,
          { mode: 0o755 },
        );
        const exists = (file: string) =>
          fs.access(path.join(hold, file)).then(
            () => true,
            () => undefined,
          );
        try {
          const before = await head(repo);
          const from =
            (await tagOf(repo, 'prod')) === (await tagOf(repo, 'dev'))
              ? 'staging'
              : 'dev';
          const version = await tagOf(repo, from);
          const body = {
            from,
            to: 'prod',
            idempotencyKey: `replicas-${run}-killed`,
          };

          const cut = promote(victim, 'service-a', body).then(
            answer => ({ answer }),
            error => ({ error }),
          );
          await eventually(() => exists('held'), 'the push to be held');
          const record = await gitopsDb('gitops_promotions')
            .where({ idempotency_key: body.idempotencyKey })
            .first();
          expect(record).toMatchObject({ status: 'requested' });

          victim.kill();
          await victim.exited;
          // The load balancer's retry on the survivor waits for the record.
          const retried = promote(survivor, 'service-a', body).then(
            answer => answer,
            error => ({ status: 0, body: { error: String(error) } }),
          );
          await fs.writeFile(path.join(hold, 'release'), '');

          // The victim's push lands after all: nobody alive wrote it.
          await eventually(
            async () => ((await head(repo)) !== before ? true : undefined),
            'the held push to land',
          );
          // The victim never answered.
          expect(await cut).toEqual({
            error: expect.objectContaining({ message: 'fetch failed' }),
          });
          const settledRecord = await eventually(async () => {
            const row = await gitopsDb('gitops_promotions')
              .where({ id: record.id })
              .first();
            return row.status === 'requested' ? undefined : row;
          }, 'the survivor to settle the record');
          // The one commit after `before`, found again by its Promotion-Id trailer.
          const commits = await commitsAfter(sandboxDir, repo, before);
          expect(commits).toEqual([
            {
              sha: expect.any(String),
              parents: [before],
              promotionId: record.id,
            },
          ]);
          expect(settledRecord).toMatchObject({
            status: 'committed',
            commit_sha: commits[0].sha,
            message: expect.stringContaining('Interrupted after its push'),
          });
          const answer = await retried;
          expect(answer.status).toBe(200);
          expect(answer.body).toMatchObject({
            id: record.id,
            status: 'committed',
            commit: commits[0].sha,
            version,
            replayed: true,
          });
          expect(await tagOf(repo, 'prod')).toBe(version);
          passed++;
        } finally {
          await fs.writeFile(path.join(hold, 'release'), '');
          await fs.rm(hook, { force: true });
        }
      },
      10 * MINUTE,
    );
  },
);

import { Entity } from '@backstage/catalog-model';
import { eventually } from '@gitops-backstage/gitops-sandbox';
import knexFactory, { Knex } from 'knex';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

/** A port nobody listens on now (the kernel's pick for port 0). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise(resolve => server.close(resolve));
  return port;
}

/**
 * Databases of their own on the shared PostgreSQL: Backstage makes one per plugin,
 * named `<prefix><pluginId>`, so a fresh prefix never meets another suite's or run's.
 */
export class ReplicaDatabases {
  readonly prefix = `gitops_replicas_${randomBytes(6).toString('hex')}_`;
  private readonly clients: Knex[] = [];

  constructor(readonly connectionString: string) {}

  /** A client of one plugin's database, as the replicas share it. */
  plugin(pluginId: string): Knex {
    const client = knexFactory({
      client: 'pg',
      connection: `${this.connectionString}/${this.prefix}${pluginId}`,
      pool: { min: 0, max: 2 },
    });
    this.clients.push(client);
    return client;
  }

  /** Drops every database of the prefix, connections and all. */
  async drop() {
    await Promise.all(this.clients.map(c => c.destroy()));
    const admin = knexFactory({
      client: 'pg',
      connection: `${this.connectionString}/postgres`,
    });
    try {
      const { rows } = await admin.raw(
        `SELECT datname FROM pg_database WHERE datname LIKE ?`,
        [`${this.prefix}%`],
      );
      for (const { datname } of rows as Array<{ datname: string }>) {
        await admin.raw(`DROP DATABASE IF EXISTS ?? WITH (FORCE)`, [datname]);
      }
    } finally {
      await admin.destroy();
    }
  }
}

export interface Replica {
  name: string;
  url: string;
  process: ChildProcess;
  /** Its log lines as written (JSON: NODE_ENV=production). */
  logs: string[];
  exited: Promise<void>;
  /** SIGKILL to the whole process group, as a killed container dies. */
  kill(): void;
}

const ENTRY = path.resolve(__dirname, 'replica.ts');
// The transform `backstage-cli package start` runs a backend's TypeScript with.
const TRANSFORM = require.resolve('@backstage/cli/config/nodeTransform.cjs');

/**
 * Starts one replica (src/__testUtils__/replica.ts) as a process of its own with the
 * given app-config, and waits until it answers. Its log is kept for the test; a
 * replica that exits before it answers fails the start with the tail of its log.
 */
export async function startReplica(options: {
  name: string;
  port: number;
  config: object;
  entities: Entity[];
  dir: string;
}): Promise<Replica> {
  const { name, port, config, entities, dir } = options;
  const configFile = path.join(dir, `${name}.app-config.json`);
  await fs.writeFile(configFile, JSON.stringify(config, null, 2));
  const child = spawn(
    process.execPath,
    ['--require', TRANSFORM, ENTRY, '--config', configFile],
    {
      cwd: path.resolve(__dirname, '../..'),
      env: {
        ...process.env,
        NODE_ENV: 'production',
        REPLICA_ENTITIES: JSON.stringify(entities),
      },
      // Its own process group: a kill takes its children (git) with it.
      detached: true,
      // stdin stays open while the test runs: the replica exits when it closes.
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const logs: string[] = [];
  // Also kept in a file beside its config, for a failed run to be read afterwards.
  const logFile = createWriteStream(path.join(dir, `${name}.log`));
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      logFile.write(chunk);
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      logs.push(...lines);
    });
  }
  let hasExited = false;
  const exited = new Promise<void>(resolve =>
    child.once('exit', () => {
      hasExited = true;
      logFile.end(resolve);
    }),
  );
  const replica: Replica = {
    name,
    url: `http://127.0.0.1:${port}`,
    process: child,
    logs,
    exited,
    kill: () => {
      if (!hasExited && child.pid) process.kill(-child.pid, 'SIGKILL');
    },
  };
  try {
    await eventually(async () => {
      if (hasExited) return 'exited';
      const res = await fetch(`${replica.url}/api/gitops/health`);
      return res.ok ? 'up' : undefined;
    }, `${name} to answer`).then(state => {
      if (state === 'exited') throw new Error('exited');
    });
  } catch (error) {
    replica.kill();
    throw new Error(
      `${name} did not start (${error}):\n${logs.slice(-40).join('\n')}`,
    );
  }
  return replica;
}

/** The auditor's events in a replica's log (Backstage's default auditor logs them). */
export function auditEvents(replica: Replica): Array<Record<string, any>> {
  return replica.logs.flatMap(line => {
    if (!line.includes('"isAuditEvent":true')) return [];
    try {
      return [JSON.parse(line)];
    } catch {
      return [];
    }
  });
}

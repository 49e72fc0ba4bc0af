import { DoraFigures, FleetDora } from '@gitops-backstage/plugin-gitops-common';
import { Knex } from 'knex';
import { DEPLOYMENTS, DeploymentRow } from './DeploymentRecorder';
import { DeploymentFact, doraFigures } from './doraFigures';

const DAY_MS = 86_400_000;
/** The fleet's deployments are read once per window this often, not per request. */
const FLEET_CACHE_MS = 30_000;

type Row = Pick<
  DeploymentRow,
  'entity_ref' | 'deployed_at' | 'failed_at' | 'restored_at' | 'commit_times'
>;

/** The DORA figures of entities, teams and the fleet, from the recorded deployments. */
export class DoraService {
  private readonly fleetCache = new Map<
    string,
    { at: number; facts: Promise<Map<string, DeploymentFact[]>> }
  >();

  constructor(private readonly options: { db: Knex; now?: () => Date }) {}

  private now() {
    return this.options.now?.() ?? new Date();
  }

  async entityFigures(
    entityRef: string,
    environment: string,
    windowDays: number,
  ): Promise<DoraFigures> {
    const now = this.now();
    const rows: Row[] = await this.query(environment, windowDays, now).where({
      entity_ref: entityRef,
    });
    return doraFigures(rows.map(factOf), { environment, windowDays, now });
  }

  /** Each entity's figures, and each owner's over its entities' deployments. */
  async fleetFigures(
    entities: Array<{ entityRef: string; title?: string; owner?: string }>,
    environment: string,
    windowDays: number,
  ): Promise<FleetDora> {
    const now = this.now();
    const byEntity = await this.fleetFacts(environment, windowDays, now);
    const options = { environment, windowDays, now };
    const teams = new Map<
      string,
      { entities: number; facts: DeploymentFact[] }
    >();
    const rows = entities.map(entity => {
      const facts = byEntity.get(entity.entityRef) ?? [];
      if (entity.owner) {
        const team = teams.get(entity.owner) ?? { entities: 0, facts: [] };
        team.entities++;
        team.facts.push(...facts);
        teams.set(entity.owner, team);
      }
      return { ...entity, figures: doraFigures(facts, options) };
    });
    return {
      environment,
      windowDays,
      entities: rows,
      teams: [...teams.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([owner, team]) => ({
          owner,
          entities: team.entities,
          figures: doraFigures(team.facts, options),
        })),
    };
  }

  private fleetFacts(environment: string, windowDays: number, now: Date) {
    const key = `${environment}\n${windowDays}`;
    const cached = this.fleetCache.get(key);
    if (cached && now.getTime() - cached.at < FLEET_CACHE_MS)
      return cached.facts;
    const facts = this.query(environment, windowDays, now).then(
      (rows: Row[]) => {
        const byEntity = new Map<string, DeploymentFact[]>();
        for (const row of rows) {
          const list = byEntity.get(row.entity_ref) ?? [];
          list.push(factOf(row));
          byEntity.set(row.entity_ref, list);
        }
        return byEntity;
      },
    );
    this.fleetCache.set(key, { at: now.getTime(), facts });
    facts.catch(() => this.fleetCache.delete(key));
    return facts;
  }

  private query(environment: string, windowDays: number, now: Date) {
    return this.options
      .db<DeploymentRow>(DEPLOYMENTS)
      .select(
        'entity_ref',
        'deployed_at',
        'failed_at',
        'restored_at',
        'commit_times',
      )
      .where({ environment })
      .where('deployed_at', '>=', new Date(now.getTime() - windowDays * DAY_MS))
      .where('deployed_at', '<=', now);
  }
}

function factOf(row: Row): DeploymentFact {
  return {
    deployedAt: new Date(row.deployed_at),
    ...(row.failed_at && { failedAt: new Date(row.failed_at) }),
    ...(row.restored_at && { restoredAt: new Date(row.restored_at) }),
    commitTimes: row.commit_times
      ? (JSON.parse(row.commit_times) as string[]).map(t => new Date(t))
      : [],
  };
}

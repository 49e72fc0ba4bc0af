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

/** The fleet's figures of one window, each computed when first asked for. */
interface FleetFigures {
  entityFigures(entityRef: string): DoraFigures;
  /** A team's: the figures of its entities' deployments together. */
  teamFigures(entityRefs: string[]): DoraFigures;
}

/** The DORA figures of entities, teams and the fleet, from the recorded deployments. */
export class DoraService {
  private readonly fleetCache = new Map<
    string,
    { at: number; fleet: Promise<FleetFigures> }
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

  /**
   * Each entity's figures, and each owner's over its entities' deployments. The
   * fleet's deployments are read, and each figure computed, once per window every
   * FLEET_CACHE_MS: a view within that time reuses them (figures as of that read).
   */
  async fleetFigures(
    entities: Array<{ entityRef: string; title?: string; owner?: string }>,
    environment: string,
    windowDays: number,
  ): Promise<FleetDora> {
    const fleet = await this.fleet(environment, windowDays);
    const teams = new Map<string, string[]>();
    const rows = entities.map(entity => {
      if (entity.owner) {
        teams.set(entity.owner, [
          ...(teams.get(entity.owner) ?? []),
          entity.entityRef,
        ]);
      }
      return { ...entity, figures: fleet.entityFigures(entity.entityRef) };
    });
    return {
      environment,
      windowDays,
      entities: rows,
      teams: [...teams.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([owner, refs]) => ({
          owner,
          entities: refs.length,
          figures: fleet.teamFigures(refs),
        })),
    };
  }

  private fleet(
    environment: string,
    windowDays: number,
  ): Promise<FleetFigures> {
    const key = `${environment}\n${windowDays}`;
    const now = this.now();
    const cached = this.fleetCache.get(key);
    if (cached && now.getTime() - cached.at < FLEET_CACHE_MS)
      return cached.fleet;
    const options = { environment, windowDays, now };
    const fleet = this.query(environment, windowDays, now).then(
      (rows: Row[]) => {
        const facts = new Map<string, DeploymentFact[]>();
        for (const row of rows) {
          const list = facts.get(row.entity_ref) ?? [];
          list.push(factOf(row));
          facts.set(row.entity_ref, list);
        }
        const byEntity = new Map<string, DoraFigures>();
        const byTeam = new Map<string, DoraFigures>();
        return {
          entityFigures(entityRef: string) {
            let figures = byEntity.get(entityRef);
            if (!figures) {
              figures = doraFigures(facts.get(entityRef) ?? [], options);
              byEntity.set(entityRef, figures);
            }
            return figures;
          },
          teamFigures(entityRefs: string[]) {
            const teamKey = entityRefs.join('\n');
            let figures = byTeam.get(teamKey);
            if (!figures) {
              figures = doraFigures(
                entityRefs.flatMap(ref => facts.get(ref) ?? []),
                options,
              );
              byTeam.set(teamKey, figures);
            }
            return figures;
          },
        };
      },
    );
    this.fleetCache.set(key, { at: now.getTime(), fleet });
    fleet.catch(() => this.fleetCache.delete(key));
    return fleet;
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

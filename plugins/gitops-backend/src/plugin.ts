import {
  coreServices,
  createBackendPlugin,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import {
  ConfigRepoWriter,
  GitCredentialsResolver,
  gitopsConfigRepoWritersExtensionPoint,
  GitopsLiveStateSource,
  gitopsLiveStateSourcesExtensionPoint,
  HelmRunner,
} from '@gitops-backstage/plugin-gitops-node';
import { gitopsPermissions } from '@gitops-backstage/plugin-gitops-common';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { readGitopsConfig } from './config';
import { createRouter } from './router';
import { ArgoCdApiSource } from './services/ArgoCdApiSource/ArgoCdApiSource';
import { GitConfigRepoReader } from './services/ConfigRepo/GitConfigRepoReader';
import { DeploymentStatusService } from './services/DeploymentStatus/DeploymentStatusService';
import { DesiredStateReader } from './services/DeploymentStatus/desiredState';
import { UpstreamCache } from './services/UpstreamCache';
import { GitConfigRepoWriter } from './services/ConfigRepo/GitConfigRepoWriter';
import { KeptClones } from './services/ConfigRepo/keptClones';
import { PromotionService } from './services/Promotion/PromotionService';
import { ManifestPreview } from './services/Promotion/ManifestPreview';
import { ownerReviewers } from './services/Promotion/reviewers';
import { GithubConfigRepoWriter } from './services/ConfigRepo/GithubConfigRepoWriter';
import { GitlabConfigRepoWriter } from './services/ConfigRepo/GitlabConfigRepoWriter';
import { ChartVersionReader } from './services/ChartRepository/ChartVersionReader';
import { ChartPreview } from './services/ChartRepository/ChartPreview';
import { ApplicationManifests } from './services/ChartRepository/applicationManifests';
import { KubernetesApplicationSource } from './services/KubernetesSource/KubernetesApplicationSource';
import { LiveIndex } from './services/LiveIndex/LiveIndex';
import { LiveSignals } from './services/LiveIndex/liveSignals';
import { annotatedEntities } from './services/LiveIndex/annotatedEntities';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import {
  normalizeRepoUrl,
  pushMatchesRepoUrl,
  subscribeToGitPushes,
} from './services/GitPush/gitPushes';
import { ConfigRepoIndex } from './services/ConfigRepo/configRepoIndex';
import { ListedApplication } from './services/applicationSchema';
import { randomUUID } from 'node:crypto';
import { ScmIntegrations } from '@backstage/integration';
import {
  DeploymentRecorder,
  recordDeployments,
} from './services/Delivery/DeploymentRecorder';
import { DoraService } from './services/Delivery/DoraService';
import { ChangeLogService } from './services/ChangeLog/ChangeLogService';
import { GitCommits } from './services/ChangeLog/gitCommits';
import { GithubCommits } from './services/ChangeLog/githubCommits';
import { GitlabCommits } from './services/ChangeLog/gitlabCommits';

/**
 * The GitOps backend plugin.
 *
 * @public
 */
export const gitopsPlugin = createBackendPlugin({
  pluginId: 'gitops',
  register(env) {
    const sources = new Map<string, GitopsLiveStateSource>();
    env.registerExtensionPoint(gitopsLiveStateSourcesExtensionPoint, {
      addLiveStateSource(...added) {
        for (const source of added) {
          if (sources.has(source.id)) {
            throw new Error(
              `Live-state source "${source.id}" is already registered`,
            );
          }
          sources.set(source.id, source);
        }
      },
    });

    const addedWriters: ConfigRepoWriter[] = [];
    env.registerExtensionPoint(gitopsConfigRepoWritersExtensionPoint, {
      addConfigRepoWriter(...writers) {
        addedWriters.push(...writers);
      },
    });

    env.registerInit({
      deps: {
        auth: coreServices.auth,
        lifecycle: coreServices.lifecycle,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        httpRouter: coreServices.httpRouter,
        permissionsRegistry: coreServices.permissionsRegistry,
        cache: coreServices.cache,
        httpAuth: coreServices.httpAuth,
        catalog: catalogServiceRef,
        permissions: coreServices.permissions,
        auditor: coreServices.auditor,
        database: coreServices.database,
        scheduler: coreServices.scheduler,
        signals: signalsServiceRef,
        events: eventsServiceRef,
        instanceMetadata: coreServices.rootInstanceMetadata,
      },
      async init({
        auth,
        lifecycle,
        config,
        logger,
        httpRouter,
        permissionsRegistry,
        cache,
        httpAuth,
        catalog,
        permissions,
        auditor,
        database,
        scheduler,
        signals,
        events,
        instanceMetadata,
      }) {
        const gitopsConfig = readGitopsConfig(config);
        permissionsRegistry.addPermissions(gitopsPermissions);
        const timeoutMs = gitopsConfig.timeoutSeconds * 1000;
        for (const instance of gitopsConfig.instances) {
          if (sources.has(instance.name)) {
            throw new Error(
              `Live-state source "${instance.name}" is already registered`,
            );
          }
          sources.set(
            instance.name,
            new ArgoCdApiSource({
              instance,
              logger,
              timeoutMs,
              concurrency: gitopsConfig.concurrencyPerInstance,
            }),
          );
        }
        for (const cluster of gitopsConfig.clusters) {
          sources.set(
            cluster.name,
            new KubernetesApplicationSource(
              cluster,
              timeoutMs,
              gitopsConfig.concurrencyPerInstance,
            ),
          );
        }
        const upstream = new UpstreamCache(cache);
        const credentials = new GitCredentialsResolver(config);
        // One kept clone per config repository and branch serves reads and promotions.
        const clones = new KeptClones({ credentials, timeoutMs });
        lifecycle.addShutdownHook(() => clones.close());
        const reader = new GitConfigRepoReader(credentials, timeoutMs, clones);
        // One watch per instance keeps its Applications in memory; browsers hear of
        // changes through signals.
        const live = new LiveIndex(logger);
        const liveSignals = new LiveSignals(signals, logger);
        if (gitopsConfig.watch) {
          live.onChange(change => liveSignals.applicationChanged(change));
          lifecycle.addStartupHook(() => live.start([...sources.values()]));
          lifecycle.addShutdownHook(() => {
            live.stop();
            liveSignals.stop();
          });
          await scheduler.scheduleTask({
            id: 'gitops-annotated-entities',
            frequency: { minutes: 1 },
            timeout: { minutes: 1 },
            scope: 'local',
            fn: async () =>
              liveSignals.setEntities(
                await annotatedEntities(
                  catalog,
                  await auth.getOwnServiceCredentials(),
                ),
              ),
          });
        }
        // The config repositories' files in memory: with the watch, kept current by
        // push webhooks and ref checks; without, read again after cacheSeconds.
        const configRepos = new ConfigRepoIndex(reader, {
          maxAgeMs: gitopsConfig.watch
            ? Infinity
            : gitopsConfig.cacheSeconds * 1000,
        });
        const desired = new DesiredStateReader(
          configRepos,
          gitopsConfig.imageKeys,
        );
        /** The live Applications with a source in a repository `matches` picks. */
        const fedBy = (matches: (repoURL: string) => boolean) =>
          live.filter(app =>
            [
              ...(app.spec.sources ?? []),
              ...(app.spec.source ? [app.spec.source] : []),
            ].some(source => matches(source.repoURL)),
          );
        // A push to a config repository (GitHub, GitLab or the sandbox's webhooks):
        // the desired state of the Applications it feeds is read again at once. Each
        // replica hears every push: each holds its own index.
        await subscribeToGitPushes(
          events,
          async push => {
            const fed = fedBy(url => pushMatchesRepoUrl(push, url));
            if (!fed.length) return;
            await desired.readAll(
              fed.map(f => f.application),
              { fresh: true },
            );
            for (const change of fed)
              liveSignals.applicationChanged(change, 'desired');
          },
          { logger, subscriberId: `gitops-desired-state-${randomUUID()}` },
        );
        const charts = new ChartVersionReader({
          repositories: gitopsConfig.chartRepositories,
          cache: upstream,
          cacheSeconds: gitopsConfig.cacheSeconds,
          timeoutMs,
        });
        const status = new DeploymentStatusService({
          live,
          sources: () => [...sources.values()],
          cache: upstream,
          desired,
          config: gitopsConfig,
          logger,
          charts,
        });
        if (gitopsConfig.watch) {
          // What a first view reads is read ahead: at each snapshot of a watch the
          // config and Rollouts of its Applications, after a change new config.
          const readAhead = (
            sourceId: string,
            apps: ListedApplication[],
            rollouts: boolean,
          ) =>
            status
              .readAhead(sourceId, apps, { rollouts })
              .catch(error =>
                logger.warn(`Reading ahead for "${sourceId}" failed: ${error}`),
              );
          live.onSnapshot((sourceId, apps) => readAhead(sourceId, apps, true));
          live.onChange(change => {
            if (change.type !== 'DELETED')
              readAhead(change.sourceId, [change.application], false);
          });
          await scheduler.scheduleTask({
            id: 'gitops-config-ref-checks',
            frequency: { seconds: gitopsConfig.refCheckSeconds },
            timeout: { minutes: 10 },
            // Each replica holds its own index in memory.
            scope: 'local',
            fn: async () => {
              for (const [moved] of await configRepos.checkRefs()) {
                const key = normalizeRepoUrl(moved);
                if (!key) continue;
                for (const change of fedBy(
                  url => normalizeRepoUrl(url) === key,
                ))
                  liveSignals.applicationChanged(change, 'desired');
              }
            },
          });
        }
        const db = await database.getClient();
        if (!database.migrations?.skip) {
          await db.migrate.latest({
            directory: resolvePackagePath(
              '@gitops-backstage/plugin-gitops-backend',
              'migrations',
            ),
          });
        }
        // The app-repository commits between versions: GitHub's API, GitLab's, else Git.
        const integrations = ScmIntegrations.fromConfig(config);
        const gitCommits = new GitCommits({
          credentials,
          timeoutMs,
          depth: gitopsConfig.changeLog.fetchDepth,
        });
        lifecycle.addShutdownHook(() => gitCommits.close());
        const changeLogs = new ChangeLogService({
          sources: [
            new GithubCommits(integrations, timeoutMs),
            new GitlabCommits(integrations, timeoutMs),
            gitCommits,
          ],
          registries: gitopsConfig.imageRegistries,
          credentials,
          maxCommits: gitopsConfig.changeLog.maxCommits,
          timeoutMs,
        });
        const gitWriter = new GitConfigRepoWriter(clones, reader);
        const promotions = new PromotionService({
          db,
          status,
          // Modules' writers first; plain Git over smart HTTP takes any repository.
          writers: [
            ...addedWriters,
            GithubConfigRepoWriter.fromConfig(config, { timeoutMs }),
            GitlabConfigRepoWriter.fromConfig(config, { timeoutMs }),
            gitWriter,
          ],
          reader,
          config: gitopsConfig,
          reviewers: async entity =>
            ownerReviewers(
              catalog,
              await auth.getOwnServiceCredentials(),
              entity,
            ),
          ...(gitopsConfig.helmCommand && {
            preview: new ManifestPreview({
              helm: HelmRunner.fromConfig(config),
              credentials,
              timeoutMs,
            }),
            chartPreview: new ChartPreview({
              repositories: gitopsConfig.chartRepositories,
              helm: HelmRunner.fromConfig(config),
              reader,
              timeoutMs,
            }),
          }),
          charts,
          manifests: new ApplicationManifests({
            sources: () => [...sources.values()],
            reader,
          }),
          logger,
          changeLogs,
        });
        // Deployments as they happen, into the database: the DORA figures outlive Argo
        // CD's short history. One replica at a time records every annotated entity.
        const recorder = new DeploymentRecorder({
          db,
          logger,
          changeLogs,
          failureWindowMs: gitopsConfig.dora.failureWindowHours * 3_600_000,
        });
        await scheduler.scheduleTask({
          id: 'gitops-record-deployments',
          frequency: { seconds: gitopsConfig.dora.recordSeconds },
          // Short: a replica killed during a pass holds the task until this expires.
          timeout: { minutes: 2 },
          initialDelay: { seconds: gitopsConfig.dora.recordSeconds },
          fn: async signal =>
            recordDeployments({
              entities: await annotatedEntities(
                catalog,
                await auth.getOwnServiceCredentials(),
              ),
              status,
              recorder,
              signal,
              // One entity never holds the others up.
              entityTimeoutMs: timeoutMs * 6,
            }),
        });
        // Promotions a previous run left half-way are settled from Git.
        promotions
          .settleInterrupted()
          .catch(error =>
            logger.warn(`Could not settle interrupted promotions: ${error}`),
          );
        // With several replicas, one may be killed mid-write while the others run on:
        // one replica at a time settles such writes once their lease lapses.
        await scheduler.scheduleTask({
          id: 'gitops-settle-abandoned-writes',
          frequency: { seconds: 15 },
          // Short: a replica killed during a pass holds the task until this expires.
          timeout: { minutes: 1 },
          fn: () => promotions.settleAbandonedWrites(),
        });
        // Browsers hear of changes only from a watch, through the signals backend.
        const installed = await instanceMetadata.getInstalledPlugins();
        const signalled =
          gitopsConfig.watch && installed.some(p => p.pluginId === 'signals');
        httpRouter.use(
          await createRouter({
            promotions,
            config: gitopsConfig,
            liveStateSourceIds: () => [...sources.keys()],
            status,
            catalog,
            httpAuth,
            permissions,
            auditor,
            onEntitiesListed: entities => liveSignals.remember(entities),
            signalled,
            changeLogs,
            dora: new DoraService({ db }),
            onRollback: (entityRef, environment) =>
              recorder.recordRollback(entityRef, environment),
            indexed: () =>
              gitopsConfig.watch &&
              Object.values(live.status()).every(s => s.live) &&
              !status.isReadingAhead(),
          }),
        );
        httpRouter.addAuthPolicy({ path: '/health', allow: 'unauthenticated' });
        logger.info(
          `GitOps plugin: ${
            gitopsConfig.instances.length
          } Argo CD instance(s), environments ${gitopsConfig.environments.join(
            ' → ',
          )}`,
        );
      },
    });
  },
});

import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { Sandbox } from '@gitops-backstage/gitops-sandbox';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { gitopsPlugin } from '../plugin';

export const exec = promisify(execFile);

// Answers are checked against the plugin's own OpenAPI spec.
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(
  parse(
    readFileSync(path.resolve(__dirname, '../schema/openapi.yaml'), 'utf8'),
  ),
  'openapi',
);

/** Where `body` breaks the named schema of the OpenAPI spec; empty when it fits. */
export function specErrors(schema: string, body: unknown) {
  const validate = ajv.getSchema(`openapi#/components/schemas/${schema}`)!;
  return validate(body) ? [] : validate.errors;
}

/** A Component of team-checkout with the given annotations. */
export function component(
  name: string,
  annotations: Record<string, string>,
): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default', annotations },
    spec: {
      type: 'service',
      owner: 'team-checkout',
      lifecycle: 'production',
      system: 'checkout',
    },
  };
}

/** The sandbox's config repositories as a `gitops.projects[].sourceRepos` pattern. */
export function sandboxRepos(sandbox: Sandbox) {
  return `${sandbox.gitUrl}/git/*`;
}

/** The plugin's config for the sandbox: a token for main, a user for prod. */
export function sandboxBackendConfig(
  sandbox: Sandbox,
  gitops: Record<string, unknown> = {},
) {
  const gitHost = new URL(sandbox.gitUrl).host;
  return {
    argocd: {
      appLocatorMethods: [
        {
          type: 'config',
          instances: sandbox.instances.map(i => ({
            name: i.name,
            url: i.url,
            ...(i.name === 'prod'
              ? { username: 'admin', password: 'sandbox' }
              : { token: i.token }),
          })),
        },
      ],
    },
    gitops: {
      promotion: { methods: { prod: 'commit' } },
      cacheSeconds: 0.2,
      // These tests drive the request path (each view asks the instances, through the
      // cache); live.sandbox.test.ts drives the watch, which production runs.
      watch: false,
      // The production default: on a loaded test machine Git and the sandbox answer slowly too.
      timeoutSeconds: 5,
      // No recording of deployments in the background (dora.sandbox.test.ts asks for it).
      dora: { recordSeconds: 3600 },
      git: {
        credentials: [{ host: gitHost, password: sandbox.gitToken }],
      },
      // As the local default: team-checkout's entities may write the examples'
      // Applications (project checkout) even when an Application names another entity.
      projects: [
        {
          name: 'checkout',
          owners: ['group:default/team-checkout'],
          destinations: [
            {
              server: 'https://kubernetes.default.svc',
              namespace: 'checkout-*',
            },
          ],
          sourceRepos: [sandboxRepos(sandbox)],
        },
      ],
      ...gitops,
    },
  };
}

/** Runs git on one of the sandbox's bare repositories. */
export async function gitIn(
  sandboxDir: string,
  repo: string,
  ...args: string[]
) {
  const { stdout } = await exec('git', [
    '-C',
    path.join(sandboxDir, 'repos', `${repo}.git`),
    ...args,
  ]);
  return stdout;
}

/** A values file's tag, read straight from the sandbox's bare repository. */
export async function tagInGit(sandboxDir: string, repo: string, file: string) {
  return parse(await gitIn(sandboxDir, repo, 'show', `main:${file}`)).image.tag;
}

/**
 * Two backends of the plugin over `config`: one whose permission policy allows every
 * request (its auditor kept, to check the events), one whose policy denies every one,
 * for the 403-and-nothing-written checks.
 */
export async function allowedAndDeniedBackends(
  entities: Entity[],
  config: Record<string, unknown>,
) {
  const features = (result: AuthorizeResult.ALLOW | AuthorizeResult.DENY) => [
    gitopsPlugin,
    catalogServiceMock.factory({ entities }),
    mockServices.permissions.factory({ result }),
    mockServices.rootConfig.factory({ data: config as any }),
  ];
  const auditor = mockServices.auditor.mock();
  const { server } = await startTestBackend({
    features: [...features(AuthorizeResult.ALLOW), auditor.factory],
  });
  const { server: denied } = await startTestBackend({
    features: features(AuthorizeResult.DENY),
  });
  return {
    server,
    denied,
    auditor,
    close: () => {
      server.close();
      denied.close();
    },
  };
}

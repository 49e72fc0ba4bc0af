import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { helmTemplate, validateChart } from './__testUtils__/chart';
import { renderConfig } from './__testUtils__/renderTemplates';

// helm per environment on a loaded machine.
jest.setTimeout(180_000);

/**
 * The blue/green chart gitops-service writes: the new version waits behind a preview
 * Service (and a preview host) until someone promotes it. Rendered by fetch:template,
 * validated as the template's validate step does, and rendered by real helm.
 */
describe('gitops-service with the blue/green strategy', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-bluegreen-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function render(
    rollout: 'blueGreen' | 'canary',
    options: { ingress?: boolean; set?: string[] } = {},
  ) {
    const workspace = await fs.mkdtemp(path.join(dir, `${rollout}-`));
    const { dir: config } = await renderConfig(workspace, {
      template: 'gitops-service',
      language: 'typescript',
      repoHost: 'git',
      rollout,
      ingress: options.ingress,
    });
    await validateChart(workspace, ['dev', 'staging', 'prod']);
    // With a version, as after CI's first build: no version renders no Rollout.
    return helmTemplate(path.join(config, 'chart'), ['values-dev.yaml'], {
      set: ['image.tag=abc1234', ...(options.set ?? [])],
    });
  }

  it('the Rollout waits for promotion behind a preview Service and a preview host', async () => {
    const { find } = await render('blueGreen');
    expect(find('Rollout', 'shop').spec.strategy).toEqual({
      blueGreen: {
        activeService: 'shop',
        previewService: 'shop-preview',
        autoPromotionEnabled: false,
      },
    });
    const active = find('Service', 'shop');
    const preview = find('Service', 'shop-preview');
    // Argo Rollouts points each Service at its ReplicaSet; both start from the pods' labels.
    expect(preview.spec).toEqual(active.spec);
    expect(find('Ingress', 'shop').spec.rules).toEqual([
      expect.objectContaining({ host: 'shop.dev.example.com' }),
    ]);
    expect(find('Ingress', 'shop-preview').spec.rules).toEqual([
      {
        host: 'shop-preview.dev.example.com',
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: {
                service: { name: 'shop-preview', port: { name: 'http' } },
              },
            },
          ],
        },
      },
    ]);
  });

  it('ingress.previewHost names the preview host', async () => {
    const { find } = await render('blueGreen', {
      set: ['ingress.previewHost=next.shop.example.com'],
    });
    expect(find('Ingress', 'shop-preview').spec.rules[0].host).toBe(
      'next.shop.example.com',
    );
  });

  it('without an ingress host there is no Ingress, preview or not; the preview Service stays', async () => {
    const { objects, find } = await render('blueGreen', { ingress: false });
    expect(objects.filter(o => o.kind === 'Ingress')).toEqual([]);
    expect(find('Service', 'shop-preview')).toBeDefined();
  });

  it('a canary has no preview objects', async () => {
    const { objects } = await render('canary');
    expect(
      objects
        .filter(o => o.metadata.name.endsWith('-preview'))
        .map(o => o.kind),
    ).toEqual([]);
    expect(
      objects.find(o => o.kind === 'Rollout').spec.strategy.canary,
    ).toBeDefined();
  });
});

import { mockServices } from '@backstage/backend-test-utils';
import {
  ArgoApplication,
  GitopsLiveStateSource,
  GitopsSourceError,
} from '@gitops-backstage/plugin-gitops-node';
import { UpstreamCache } from '../UpstreamCache';
import { previewUrlOf, RolloutReader } from './rolloutReader';

const ingress = (name: string, host: string, service: string, tls = false) => ({
  metadata: { name },
  spec: {
    ...(tls && { tls: [{ hosts: [host], secretName: `${name}-tls` }] }),
    rules: [
      {
        host,
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: service, port: { name: 'http' } } },
            },
          ],
        },
      },
    ],
  },
});

describe('previewUrlOf', () => {
  it("is the host of the Ingress rule routing to the preview Service, https with the host's TLS", () => {
    const ingresses = [
      ingress('shop', 'shop.example.com', 'shop', true),
      ingress('shop-preview', 'shop-preview.example.com', 'shop-preview', true),
    ];
    expect(previewUrlOf(ingresses, 'shop-preview')).toBe(
      'https://shop-preview.example.com',
    );
    expect(
      previewUrlOf(
        [ingress('p', 'p.example.com', 'shop-preview')],
        'shop-preview',
      ),
    ).toBe('http://p.example.com');
    expect(previewUrlOf(ingresses, 'other')).toBeUndefined();
    expect(previewUrlOf([null, { spec: { rules: 'x' } }], 'x')).toBeUndefined();
  });
});

describe('RolloutReader', () => {
  const app = {
    metadata: { name: 'shop-dev', namespace: 'argocd', resourceVersion: '7' },
    spec: {
      project: 'default',
      destination: { namespace: 'shop-dev' },
    },
    status: {
      summary: { images: ['shop:one', 'shop:two'] },
      resources: [
        { group: 'argoproj.io', kind: 'Rollout', name: 'shop' },
        { group: 'networking.k8s.io', kind: 'Ingress', name: 'shop' },
        { group: 'networking.k8s.io', kind: 'Ingress', name: 'shop-preview' },
      ],
    },
  } as unknown as ArgoApplication;
  const rollout = {
    metadata: { name: 'shop', namespace: 'shop-dev' },
    spec: {
      strategy: {
        blueGreen: { activeService: 'shop', previewService: 'shop-preview' },
      },
      template: { spec: { containers: [{ name: 'app', image: 'shop:two' }] } },
    },
    status: {
      phase: 'Paused',
      pauseConditions: [{ reason: 'BlueGreenPause' }],
      blueGreen: { activeSelector: 'aaa', previewSelector: 'bbb' },
    },
  };
  const reader = () =>
    new RolloutReader({
      cache: new UpstreamCache(mockServices.cache.mock()),
      cacheSeconds: 0,
      logger: mockServices.logger.mock(),
    });

  it('reads a paused blue/green preview: its image, the active one, its URL', async () => {
    const resources: Record<string, unknown> = {
      Rollout: rollout,
      'Ingress/shop': ingress('shop', 'shop.dev.example.com', 'shop'),
      'Ingress/shop-preview': ingress(
        'shop-preview',
        'shop-preview.dev.example.com',
        'shop-preview',
      ),
    };
    const getResource = jest.fn(async (_app: unknown, ref: any) =>
      ref.kind === 'Rollout'
        ? resources.Rollout
        : resources[`${ref.kind}/${ref.name}`],
    );
    const source = {
      id: 'main',
      getResource,
    } as unknown as GitopsLiveStateSource;
    expect(await reader().read(source, app)).toMatchObject({
      strategy: 'blueGreen',
      previewImages: ['shop:two'],
      activeImages: ['shop:one'],
      previewUrl: 'http://shop-preview.dev.example.com',
      pauseReasons: ['BlueGreenPause'],
    });
    expect(getResource).toHaveBeenCalledWith(
      { name: 'shop-dev', namespace: 'argocd' },
      expect.objectContaining({
        kind: 'Ingress',
        namespace: 'shop-dev',
        name: 'shop-preview',
        version: 'v1',
      }),
    );
  });

  it('still shows the preview when an Ingress cannot be read', async () => {
    const source = {
      id: 'main',
      getResource: async (_app: unknown, ref: any) => {
        if (ref.kind === 'Rollout') return rollout;
        throw new GitopsSourceError('forbidden', 'permission denied');
      },
    } as unknown as GitopsLiveStateSource;
    const progress = await reader().read(source, app);
    expect(progress?.previewImages).toEqual(['shop:two']);
    expect(progress?.previewUrl).toBeUndefined();
  });
});

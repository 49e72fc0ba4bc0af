import { OciRegistry, startRegistry } from './RegistryServer';
import { parseImageReference } from './references';

jest.setTimeout(180_000);

describe('parseImageReference', () => {
  it('splits references as Docker normalises them', () => {
    expect(parseImageReference('nginx:1.27')).toEqual({
      host: 'docker.io',
      repository: 'library/nginx',
      tag: '1.27',
    });
    expect(parseImageReference('bitnami/redis')).toEqual({
      host: 'docker.io',
      repository: 'bitnami/redis',
    });
    expect(parseImageReference('index.docker.io/nginx')?.repository).toBe(
      'library/nginx',
    );
    expect(
      parseImageReference(
        `127.0.0.1:5000/team/sub/app:v1@sha256:${'a'.repeat(64)}`,
      ),
    ).toEqual({
      host: '127.0.0.1:5000',
      repository: 'team/sub/app',
      tag: 'v1',
      digest: `sha256:${'a'.repeat(64)}`,
    });
    expect(parseImageReference('localhost/app')?.host).toBe('localhost');
    for (const bad of [
      'Team/App',
      'ghcr.io/team/app:bad tag',
      'app@sha256:12',
      '',
    ]) {
      expect([bad, parseImageReference(bad)]).toEqual([bad, undefined]);
    }
  });
});

describe('OciRegistry.resolve and pushImage', () => {
  let registry: OciRegistry;

  beforeEach(async () => {
    registry = await startRegistry({
      hosts: ['ghcr.io', 'registry.gitlab.com', 'docker.io'],
    });
  });

  afterEach(() => registry.stop());

  it('resolves a pushed image on every host it stands in for, by tag or digest', async () => {
    const digest = await registry.pushImage('team/app', 'v1');
    const expected = { digest, platforms: ['linux/amd64', 'linux/arm64'] };
    for (const ref of [
      `${registry.host}/team/app:v1`,
      `localhost:${registry.host.split(':')[1]}/team/app:v1`,
      'ghcr.io/team/app:v1',
      'GHCR.IO/team/app:v1',
      'registry.gitlab.com/team/app:v1',
      `ghcr.io/team/app@${digest}`,
      `ghcr.io/team/app:v0@${digest}`,
    ]) {
      expect([ref, registry.resolve(ref)]).toEqual([ref, expected]);
    }
  });

  it('maps docker.io short names onto library/ and defaults to latest', async () => {
    const digest = await registry.pushImage('library/nginx', '1.27', {
      platforms: ['linux/arm/v7'],
    });
    await registry.pushImage('library/nginx', 'latest');
    expect(registry.resolve('nginx:1.27')).toEqual({
      digest,
      platforms: ['linux/arm/v7'],
    });
    expect(registry.resolve('docker.io/library/nginx:1.27')?.digest).toBe(
      digest,
    );
    expect(registry.resolve('nginx')?.digest).toBe(
      registry.resolve('nginx:latest')?.digest,
    );
    expect(registry.resolve('nginx')?.digest).not.toBe(digest);
  });

  it('answers undefined for unknown hosts, repositories, tags and digests', async () => {
    const digest = await registry.pushImage('team/app', 'v1');
    for (const ref of [
      'quay.io/team/app:v1',
      '127.0.0.1:1/team/app:v1',
      'ghcr.io/team/app:v2',
      'ghcr.io/team/other:v1',
      `ghcr.io/team/app@sha256:${'0'.repeat(64)}`,
      `ghcr.io/other/app@${digest}`,
      'not a reference',
    ]) {
      expect([ref, registry.resolve(ref)]).toEqual([ref, undefined]);
    }
  });

  it('resolves as a mirror: any host, by the path without it', async () => {
    const digest = await registry.pushImage('team/app', 'v1');
    await registry.pushImage('library/nginx', '1.25');
    for (const ref of [
      'quay.io/team/app:v1',
      'registry.example.com/team/app:v1',
      '127.0.0.1:1/team/app:v1',
      `quay.io/team/app:v0@${digest}`,
    ]) {
      expect([ref, registry.resolveAsMirror(ref)?.digest]).toEqual([
        ref,
        digest,
      ]);
    }
    expect(registry.resolveAsMirror('nginx:1.25')).toBeDefined();
    expect(registry.resolveAsMirror('quay.io/nginx:1.25')).toBeUndefined();
    expect(registry.resolveAsMirror('quay.io/team/app:v2')).toBeUndefined();
  });

  it('gives every tag its own content and refuses names and tags outside the grammar', async () => {
    const one = await registry.pushImage('team/app', 'v1');
    const two = await registry.pushImage('team/app', 'v2', {
      labels: { 'org.opencontainers.image.revision': 'abc1234' },
    });
    expect(one).not.toBe(two);
    expect(registry.tags('team/app')).toEqual(['v1', 'v2']);
    expect(registry.repositories()).toEqual(['team/app']);
    await expect(registry.pushImage('Team/App', 'v1')).rejects.toThrow(
      'Invalid repository name',
    );
    await expect(registry.pushImage('team/app', '-v1')).rejects.toThrow(
      'Invalid tag',
    );
    await expect(
      registry.pushImage('team/app', 'v3', { platforms: ['amd64'] }),
    ).rejects.toThrow('Invalid platform');
  });
});

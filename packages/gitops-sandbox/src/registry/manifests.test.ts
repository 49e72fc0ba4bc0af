import { createHash } from 'node:crypto';
import { OciRegistry, startRegistry } from './RegistryServer';
import { Exchange, assertContract, recordingFetch } from './contractCheck';

jest.setTimeout(180_000);

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const ALL_TYPES = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].join(
  ', ',
);

const sha256 = (data: Buffer | string) =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;
const errors = (body: Buffer) => JSON.parse(body.toString('utf8')).errors;
const codes = (body: Buffer) => errors(body).map((e: any) => e.code);

describe('registry manifests and tags (end-3, end-7, end-8, end-9)', () => {
  let registry: OciRegistry;
  let exchanges: Exchange[];
  let call: ReturnType<typeof recordingFetch>;

  beforeEach(async () => {
    registry = await startRegistry();
    exchanges = [];
    call = recordingFetch(registry.url, exchanges);
  });

  afterEach(async () => {
    await registry.stop();
    assertContract(exchanges);
  });

  const pushBlob = async (name: string, content: string) => {
    const data = Buffer.from(content);
    const res = await call(
      `/v2/${name}/blobs/uploads/?digest=${sha256(data)}`,
      { method: 'POST', body: data },
    );
    expect(res.status).toBe(201);
    return { digest: sha256(data), size: data.length };
  };

  /** An image manifest whose config names the platform; pretty-printed on purpose. */
  const pushImage = async (
    name: string,
    reference: string,
    arch: string,
    mediaType = OCI_MANIFEST,
  ) => {
    const config = await pushBlob(
      name,
      JSON.stringify({ os: 'linux', architecture: arch, rootfs: {} }),
    );
    const layer = await pushBlob(name, `layer for ${arch}`);
    const oci = mediaType === OCI_MANIFEST;
    const bytes = Buffer.from(
      JSON.stringify(
        {
          schemaVersion: 2,
          mediaType,
          config: {
            mediaType: oci
              ? 'application/vnd.oci.image.config.v1+json'
              : 'application/vnd.docker.container.image.v1+json',
            ...config,
          },
          layers: [
            {
              mediaType: oci
                ? 'application/vnd.oci.image.layer.v1.tar+gzip'
                : 'application/vnd.docker.image.rootfs.diff.tar.gzip',
              ...layer,
            },
          ],
        },
        null,
        3,
      ),
    );
    const res = await call(`/v2/${name}/manifests/${reference}`, {
      method: 'PUT',
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    expect(res.status).toBe(201);
    return { bytes, digest: sha256(bytes) };
  };

  it('stores the exact bytes and serves them by tag and digest with their type and digest', async () => {
    const image = await pushImage('team/app', 'v1', 'amd64');
    const put = exchanges[exchanges.length - 1];
    expect(put.headers['docker-content-digest']).toBe(image.digest);
    expect(put.headers.location).toBe(`/v2/team/app/manifests/${image.digest}`);

    for (const ref of ['v1', image.digest]) {
      const get = await call(`/v2/team/app/manifests/${ref}`, {
        headers: { accept: OCI_MANIFEST },
      });
      expect(get.status).toBe(200);
      expect(get.body).toEqual(image.bytes);
      expect(get.headers.get('content-type')).toBe(OCI_MANIFEST);
      expect(get.headers.get('docker-content-digest')).toBe(image.digest);
      const head = await call(`/v2/team/app/manifests/${ref}`, {
        method: 'HEAD',
        headers: { accept: OCI_MANIFEST },
      });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(
        String(image.bytes.length),
      );
    }
    const missing = await call('/v2/team/app/manifests/v2', {
      headers: { accept: ALL_TYPES },
    });
    expect(missing.status).toBe(404);
    expect(codes(missing.body)).toEqual(['MANIFEST_UNKNOWN']);
  });

  it('negotiates on Accept as the reference registry: OCI types only when accepted, Docker manifests always', async () => {
    await pushImage('team/app', 'oci', 'amd64');
    const star = await call('/v2/team/app/manifests/oci', {
      headers: { accept: '*/*' },
    });
    expect(star.status).toBe(404);
    expect(codes(star.body)).toEqual(['MANIFEST_UNKNOWN']);
    const docker = await pushImage(
      'team/app',
      'docker',
      'amd64',
      DOCKER_MANIFEST,
    );
    const plain = await call('/v2/team/app/manifests/docker', {
      headers: { accept: 'application/json' },
    });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe(DOCKER_MANIFEST);
    expect(plain.body).toEqual(docker.bytes);
  });

  it('takes OCI indexes and Docker manifest lists whose children exist, and serves old clients the amd64 image', async () => {
    const amd = await pushImage(
      'team/app',
      'tmp-amd',
      'amd64',
      DOCKER_MANIFEST,
    );
    const arm = await pushImage(
      'team/app',
      'tmp-arm',
      'arm64',
      DOCKER_MANIFEST,
    );
    const entries = [
      { digest: arm.digest, arch: 'arm64', size: arm.bytes.length },
      { digest: amd.digest, arch: 'amd64', size: amd.bytes.length },
    ].map(e => ({
      mediaType: DOCKER_MANIFEST,
      digest: e.digest,
      size: e.size,
      platform: { os: 'linux', architecture: e.arch },
    }));
    const list = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: DOCKER_LIST,
        manifests: entries,
      }),
    );
    const put = await call('/v2/team/app/manifests/multi', {
      method: 'PUT',
      headers: { 'content-type': DOCKER_LIST },
      body: list,
    });
    expect(put.status).toBe(201);
    const modern = await call('/v2/team/app/manifests/multi', {
      headers: { accept: ALL_TYPES },
    });
    expect(modern.body).toEqual(list);
    const old = await call('/v2/team/app/manifests/multi', {
      headers: { accept: DOCKER_MANIFEST },
    });
    expect(old.status).toBe(200);
    expect(old.headers.get('docker-content-digest')).toBe(amd.digest);
    expect(old.body).toEqual(amd.bytes);

    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: entries,
      }),
    );
    const putIndex = await call(`/v2/team/app/manifests/${sha256(index)}`, {
      method: 'PUT',
      headers: { 'content-type': OCI_INDEX },
      body: index,
    });
    expect(putIndex.status).toBe(201);
    expect(putIndex.headers.get('docker-content-digest')).toBe(sha256(index));
  });

  it('refuses manifests naming blobs or child manifests the repository lacks', async () => {
    const config = await pushBlob(
      'team/app',
      '{"architecture":"amd64","os":"linux"}',
    );
    const ghost = { digest: sha256('never uploaded'), size: 14 };
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        ...config,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...ghost },
      ],
    });
    const res = await call('/v2/team/app/manifests/v1', {
      method: 'PUT',
      headers: { 'content-type': OCI_MANIFEST },
      body: manifest,
    });
    expect(res.status).toBe(400);
    expect(errors(res.body)).toEqual([
      expect.objectContaining({
        code: 'MANIFEST_BLOB_UNKNOWN',
        detail: { digest: ghost.digest },
      }),
    ]);
    // The config exists in team/app only.
    const elsewhere = await call('/v2/team/other/manifests/v1', {
      method: 'PUT',
      headers: { 'content-type': OCI_MANIFEST },
      body: manifest,
    });
    expect(codes(elsewhere.body)).toEqual([
      'MANIFEST_BLOB_UNKNOWN',
      'MANIFEST_BLOB_UNKNOWN',
    ]);

    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, ...ghost }],
    });
    const idx = await call('/v2/team/app/manifests/v1', {
      method: 'PUT',
      headers: { 'content-type': OCI_INDEX },
      body: index,
    });
    expect(idx.status).toBe(400);
    expect(codes(idx.body)).toEqual(['MANIFEST_BLOB_UNKNOWN']);
  });

  it('accepts a subject that does not exist yet (spec: referrers may come first)', async () => {
    const config = await pushBlob('team/app', '{}');
    const res = await call('/v2/team/app/manifests/sig', {
      method: 'PUT',
      headers: { 'content-type': OCI_MANIFEST },
      body: JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: 'application/vnd.example.sig',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', ...config },
        layers: [],
        subject: { mediaType: OCI_MANIFEST, digest: sha256('later'), size: 5 },
      }),
    });
    expect(res.status).toBe(201);
  });

  it('refuses invalid manifests, digests that do not match and oversized bodies', async () => {
    const cases: [string, string, string][] = [
      ['{not json', OCI_MANIFEST, 'MANIFEST_INVALID'],
      [
        `{"schemaVersion":2,"mediaType":"${OCI_INDEX}","manifests":[]}`,
        OCI_MANIFEST,
        'MANIFEST_INVALID',
      ],
      ['{"schemaVersion":1,"manifests":[]}', OCI_INDEX, 'MANIFEST_INVALID'],
      ['{"schemaVersion":2,"layers":[]}', OCI_MANIFEST, 'MANIFEST_INVALID'],
      ['{"schemaVersion":2,"manifests":[]}', 'text/plain', 'MANIFEST_INVALID'],
    ];
    for (const [body, type, code] of cases) {
      const res = await call('/v2/team/app/manifests/v1', {
        method: 'PUT',
        headers: { 'content-type': type },
        body,
      });
      expect([body, res.status, codes(res.body)]).toEqual([body, 400, [code]]);
    }
    const index = `{"schemaVersion":2,"mediaType":"${OCI_INDEX}","manifests":[]}`;
    const mismatch = await call(`/v2/team/app/manifests/${sha256('other')}`, {
      method: 'PUT',
      headers: { 'content-type': OCI_INDEX },
      body: index,
    });
    expect(mismatch.status).toBe(400);
    expect(codes(mismatch.body)).toEqual(['DIGEST_INVALID']);
    const big = await call('/v2/team/app/manifests/v1', {
      method: 'PUT',
      headers: { 'content-type': OCI_INDEX },
      body: Buffer.alloc(4 * 1024 * 1024 + 1, 32),
    });
    expect(big.status).toBe(413);
  });

  it('lists tags in order with n/last pagination and a Link to the next page', async () => {
    const index = `{"schemaVersion":2,"mediaType":"${OCI_INDEX}","manifests":[]}`;
    for (const tag of ['v2', 'latest', 'v10', 'v1', 'beta']) {
      await call(`/v2/team/app/manifests/${tag}`, {
        method: 'PUT',
        headers: { 'content-type': OCI_INDEX },
        body: index,
      });
    }
    const all = await call('/v2/team/app/tags/list');
    expect(JSON.parse(all.body.toString())).toEqual({
      name: 'team/app',
      tags: ['beta', 'latest', 'v1', 'v10', 'v2'],
    });
    const pages: string[][] = [];
    let next: string | null = '/v2/team/app/tags/list?n=2';
    while (next) {
      const page = await call(next);
      pages.push(JSON.parse(page.body.toString()).tags);
      next =
        /^<([^>]+)>; rel="next"$/.exec(page.headers.get('link') ?? '')?.[1] ??
        null;
    }
    expect(pages).toEqual([['beta', 'latest'], ['v1', 'v10'], ['v2']]);
    const zero = await call('/v2/team/app/tags/list?n=0');
    expect(JSON.parse(zero.body.toString()).tags).toEqual([]);
    expect(zero.headers.get('link')).toBeNull();
    const after = await call('/v2/team/app/tags/list?last=v1');
    expect(JSON.parse(after.body.toString()).tags).toEqual(['v10', 'v2']);
    const unknown = await call('/v2/team/none/tags/list');
    expect(unknown.status).toBe(404);
    expect(codes(unknown.body)).toEqual(['NAME_UNKNOWN']);

    await call('/v2/other/app/manifests/x', {
      method: 'PUT',
      headers: { 'content-type': OCI_INDEX },
      body: index,
    });
    const catalog = await call('/v2/_catalog?n=1');
    expect(JSON.parse(catalog.body.toString())).toEqual({
      repositories: ['other/app'],
    });
    expect(catalog.headers.get('link')).toBe(
      '</v2/_catalog?n=1&last=other%2Fapp>; rel="next"',
    );
  });

  it('deletes a tag, or a manifest with the tags on it', async () => {
    const image = await pushImage('team/app', 'v1', 'amd64');
    await call(`/v2/team/app/manifests/v2`, {
      method: 'PUT',
      headers: { 'content-type': OCI_MANIFEST },
      body: image.bytes,
    });
    expect(
      (await call('/v2/team/app/manifests/v2', { method: 'DELETE' })).status,
    ).toBe(202);
    const tags = await call('/v2/team/app/tags/list');
    expect(JSON.parse(tags.body.toString()).tags).toEqual(['v1']);
    expect(
      (
        await call(`/v2/team/app/manifests/${image.digest}`, {
          method: 'DELETE',
        })
      ).status,
    ).toBe(202);
    const gone = await call('/v2/team/app/manifests/v1', {
      headers: { accept: OCI_MANIFEST },
    });
    expect(gone.status).toBe(404);
  });
});

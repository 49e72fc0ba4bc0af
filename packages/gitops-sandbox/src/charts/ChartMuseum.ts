import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { authorized, sendJson } from '../git/GitServer';
import { chartMetadata, packageChart, runHelm } from '../helm';
import { ChartRepository, resolveVersion } from './chartRepository';

/** Repository names: one path segment, no dot first (as the Git server's). */
const REPO_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

/** ChartMuseum's default limit of a request body. */
const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;

export interface PublishedChart {
  name: string;
  version: string;
  /** The repository's URL: `helm repo add`'s, an Application's `repoURL`. */
  repoURL: string;
}

/** Classic Helm chart repositories of the sandbox, fed as ChartMuseum is. */
export interface SandboxCharts {
  /** `http://127.0.0.1:<git port>/charts/<repo>` */
  repoUrl(repo: string): string;
  /**
   * Publishes a chart directory (packaged with the real `helm package`) or a packaged
   * `.tgz`, as an upload does; fails as it does (a version once only).
   */
  publish(repo: string, chart: string): Promise<PublishedChart>;
  /** The versions of `chart` the repository's index.yaml lists. */
  versions(repo: string, chart: string): Promise<string[]>;
}

interface IndexEntry {
  version: string;
  urls?: string[];
}

class UploadError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * Classic chart repositories under the Git server's `/charts/<repo>/`: index.yaml as
 * the real `helm repo index` writes it, packages beside it, and ChartMuseum's upload
 * (`POST /charts/<repo>/api/charts`, the .tgz as body or the form field `chart`, with
 * the Git token). Reads need no credentials. A repository exists from its first chart.
 */
export class ChartMuseum implements SandboxCharts {
  /** Uploads one at a time: each rewrites index.yaml from the whole directory. */
  private uploads: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly options: {
      root: string;
      token: string;
      /** The Git server's URL, known once it listens. */
      baseUrl: () => string;
    },
  ) {}

  repoUrl(repo: string) {
    return `${this.options.baseUrl()}/charts/${repo}`;
  }

  async publish(repo: string, chart: string): Promise<PublishedChart> {
    if ((await fs.stat(chart)).isFile()) {
      return this.upload(repo, await fs.readFile(chart));
    }
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'sandbox-chart-'));
    try {
      const tgz = await packageChart(chart, work);
      return await this.upload(repo, await fs.readFile(tgz));
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  }

  async versions(repo: string, chart: string): Promise<string[]> {
    return (await this.entries(repo, chart)).map(e => String(e.version));
  }

  /** The repository a repoURL names, when it is one of these. */
  repository(repoURL: string): ChartRepository | undefined {
    const prefix = `${this.options.baseUrl()}/charts/`;
    const repo = repoURL.replace(/\/+$/, '').slice(prefix.length);
    if (!repoURL.startsWith(prefix) || !REPO_NAME.test(repo)) return undefined;
    return {
      resolve: async (chart, targetRevision) => {
        const entries = await this.entries(repo, chart);
        if (entries.length === 0) {
          throw new Error(`chart '${chart}' not found in index`);
        }
        return resolveVersion(
          entries.map(e => String(e.version)),
          targetRevision,
          {
            missing: v =>
              `chart "${chart}" version "${v}" not found in ${repoURL} repository`,
            noMatch: 'constraint not found in index',
          },
        );
      },
      package: async (chart, version) => {
        const entry = (await this.entries(repo, chart)).find(
          e => String(e.version) === version,
        );
        const file = path.posix.basename(entry?.urls?.[0] ?? '');
        if (!file) throw new Error(`chart ${chart} ${version} not found`);
        return fs.readFile(path.join(this.options.root, repo, file));
      },
    };
  }

  /** Answers requests under `/charts/`; false for any other path. */
  async handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
  ): Promise<boolean> {
    const [, top, repo = '', ...rest] = url.pathname.split('/');
    if (top !== 'charts') return false;
    const file = rest.join('/');
    if (req.method === 'POST' && file === 'api/charts') {
      if (!authorized(req, this.options.token)) {
        res.writeHead(401, {
          'www-authenticate': 'Basic realm="gitops-sandbox"',
          'content-type': 'application/json',
        });
        res.end(JSON.stringify({ error: 'unauthorized' }));
        return true;
      }
      try {
        if (!REPO_NAME.test(repo)) {
          throw new UploadError(400, `invalid repository name "${repo}"`);
        }
        await this.upload(repo, await chartFrom(req));
        sendJson(res, 201, { saved: true });
      } catch (error: any) {
        sendJson(res, error.status ?? 500, { error: error.message });
      }
      return true;
    }
    const served =
      (req.method === 'GET' || req.method === 'HEAD') &&
      REPO_NAME.test(repo) &&
      (file === 'index.yaml' || /^[^/.][^/]*\.tgz$/.test(file));
    const target = path.join(this.options.root, repo, file);
    const stat = served ? await fs.stat(target).catch(() => undefined) : null;
    if (!stat?.isFile()) {
      sendJson(res, 404, { error: 'not found' });
      return true;
    }
    res.writeHead(200, {
      'content-type':
        file === 'index.yaml' ? 'application/x-yaml' : 'application/x-tar',
      'content-length': stat.size,
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(target).pipe(res);
    return true;
  }

  private upload(repo: string, tgz: Buffer): Promise<PublishedChart> {
    const next = this.uploads.then(() => this.store(repo, tgz));
    this.uploads = next.catch(() => undefined);
    return next;
  }

  private async store(repo: string, tgz: Buffer): Promise<PublishedChart> {
    // Beside the repositories, never in one: `helm repo index` reads every .tgz there.
    await fs.mkdir(this.options.root, { recursive: true });
    const work = await fs.mkdtemp(path.join(this.options.root, '.upload-'));
    try {
      const upload = path.join(work, 'upload.tgz');
      await fs.writeFile(upload, tgz);
      const chart = await chartMetadata(upload, work).catch(error => {
        const said = String(error.stderr ?? '').trim() || error.message;
        throw new UploadError(400, said.replaceAll(upload, 'the upload'));
      });
      const file = `${chart?.name}-${chart?.version}.tgz`;
      if (!chart?.name || !chart.version || !/^[^/.][^/]*$/.test(file)) {
        throw new UploadError(400, `${file} is improperly formatted`);
      }
      const dir = path.join(this.options.root, repo);
      const target = path.join(dir, file);
      await fs.mkdir(dir, { recursive: true });
      if (await fs.stat(target).catch(() => undefined)) {
        throw new UploadError(409, 'file already exists');
      }
      await fs.rename(upload, target);
      await runHelm(['repo', 'index', dir, '--url', this.repoUrl(repo)], {
        home: work,
      }).catch(async error => {
        await fs.rm(target, { force: true });
        throw error;
      });
      return {
        name: chart.name,
        version: chart.version,
        repoURL: this.repoUrl(repo),
      };
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  }

  private async entries(repo: string, chart: string): Promise<IndexEntry[]> {
    const text = await fs
      .readFile(path.join(this.options.root, repo, 'index.yaml'), 'utf8')
      .catch(() => undefined);
    return (text && parse(text)?.entries?.[chart]) || [];
  }
}

/** The package of an upload: the body, or ChartMuseum's form field `chart`. */
async function chartFrom(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_UPLOAD_BYTES) {
      throw new UploadError(413, 'request body too large');
    }
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('multipart/form-data')) return body;
  const form = await new Response(body, {
    headers: { 'content-type': type },
  }).formData();
  const chart = form.get('chart');
  if (!chart || typeof chart === 'string') {
    throw new UploadError(
      400,
      'no package or provenance file found in form fields chart and prov',
    );
  }
  return Buffer.from(await chart.arrayBuffer());
}

import { helmBinary } from '@gitops-backstage/gitops-sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { HelmRunner } from './helm';

jest.setTimeout(180_000);

const exec = promisify(execFile);

/**
 * A repository with a chart (`root/chart`), files outside it, a post-renderer that
 * leaves a marker when run, and helm behind a wrapper that logs every call: its
 * arguments, its home and what helm sees there (plugins, repositories).
 */
describe('HelmRunner', () => {
  let dir: string;
  let root: string;
  let outside: string;
  let log: string;
  let marker: string;
  let postRenderer: string;
  let realHelm: string;
  let helm: HelmRunner;
  const timeout = { timeoutMs: 120_000 };

  const write = async (file: string, text: string) => {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, text);
  };
  /** The test chart's input, with `input` over it. */
  const chart = <T extends object = Record<never, never>>(input?: T) => ({
    root,
    chartPath: 'chart',
    valueFiles: ['values-dev.yaml'],
    namespace: 'checkout-dev',
    ...(input as T),
  });
  /** The calls the wrapper saw: each call's lines, the first being `argv: [a] [b]…`. */
  const calls = async () => {
    const text = await fs.readFile(log, 'utf8').catch(() => '');
    return text
      .split('--- call\n')
      .filter(Boolean)
      .map(call => call.split('\n'));
  };
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected helm to be refused');
      },
      (error: Error) => error,
    );

  /** The errors of helm template and helm lint on the chart changed by `input`. */
  const refusedByTemplateAndLint = (input: object) =>
    Promise.all([
      refusal(helm.template(chart({ ...input, releaseName: 'x' }), timeout)),
      refusal(helm.lint(chart(input), timeout)),
    ]);

  beforeAll(async () => {
    realHelm = await helmBinary();
    dir = await fs.realpath(
      await fs.mkdtemp(path.join(os.tmpdir(), 'helm-runner-test-')),
    );
    root = path.join(dir, 'repo');
    outside = path.join(dir, 'outside');
    log = path.join(dir, 'helm-calls.log');
    marker = path.join(dir, 'post-renderer-ran');
    postRenderer = path.join(dir, 'post-renderer.sh');

    await write(
      path.join(root, 'chart/Chart.yaml'),
      'apiVersion: v2\nname: service\nversion: 0.1.0\n',
    );
    await write(path.join(root, 'chart/values.yaml'), 'greeting: hello\n');
    await write(
      path.join(root, 'chart/values-dev.yaml'),
      'greeting: hello-dev\n',
    );
    await write(
      path.join(root, 'chart/templates/configmap.yaml'),
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: {{ .Release.Name }}',
        '  namespace: {{ .Release.Namespace }}',
        'data:',
        '  greeting: {{ .Values.greeting }}',
        '',
      ].join('\n'),
    );
    // What a hostile repository or a backend's environment could offer helm: a
    // repository list and a plugin, where helm would look for them if its home
    // were the repository (or the backend's HELM_* variables).
    for (const base of [root, path.join(dir, 'user-helm')]) {
      await write(
        path.join(base, 'config/repositories.yaml'),
        'apiVersion: ""\nrepositories:\n  - name: hostile-repo\n    url: http://127.0.0.1:9/charts\n',
      );
      await write(
        path.join(base, 'data/plugins/hostile/plugin.yaml'),
        'name: hostile-plugin\nversion: 0.1.0\nusage: hostile\ndescription: hostile\ncommand: /bin/true\n',
      );
    }
    // Files a chart must never reach.
    await write(
      path.join(outside, 'secret.yaml'),
      [
        'apiVersion: v1',
        'kind: Secret',
        'metadata:',
        '  name: stolen',
        'stringData:',
        '  token: backend-secret-token',
        '',
      ].join('\n'),
    );
    await write(path.join(dir, 'outside.yaml'), 'greeting: from-outside\n');

    await write(postRenderer, `#!/bin/sh\ntouch '${marker}'\ncat\n`);
    await fs.chmod(postRenderer, 0o755);

    const wrapper = path.join(dir, 'helm-wrapper.sh');
    await write(
      wrapper,
      [
        '#!/bin/sh',
        '{',
        "  echo '--- call'",
        '  printf \'argv:\'; for a in "$@"; do printf \' [%s]\' "$a"; done; echo',
        '  echo "home: $HOME $(stat -c %a "$HOME")"',
        '  echo "cwd: $(pwd)"',
        "  env | grep '^HELM_' | sort",
        `  echo "plugins: $('${realHelm}' plugin list 2>&1 | tr '\\n' ' ')"`,
        `  echo "repositories: $('${realHelm}' repo list 2>&1 | tr '\\n' ' ')"`,
        `} >> '${log}'`,
        `exec '${realHelm}' "$@"`,
        '',
      ].join('\n'),
    );
    await fs.chmod(wrapper, 0o755);
    helm = new HelmRunner(wrapper, true);
  });

  beforeEach(async () => {
    await fs.rm(log, { force: true });
    await fs.rm(marker, { force: true });
  });

  afterAll(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('renders a valid chart with its values files, name and namespace', async () => {
    const result = await helm.template(
      chart({ releaseName: 'checkout' }),
      timeout,
    );

    expect(result.ok).toBe(true);
    expect(result.stdout).toContain('name: checkout\n');
    expect(result.stdout).toContain('namespace: checkout-dev\n');
    expect(result.stdout).toContain('greeting: hello-dev\n');
    const [call] = await calls();
    expect(call[0]).toBe(
      `argv: [template] [--namespace] [checkout-dev] [--values] [${root}/chart/values-dev.yaml] [--] [checkout] [${root}/chart]`,
    );
  });

  it('lints a valid chart, strict too; a leading / in a values file is the repository root, as in Argo CD', async () => {
    const result = await helm.lint(
      chart({ valueFiles: ['/chart/values-dev.yaml'], strict: true }),
      timeout,
    );

    expect(result).toMatchObject({ ok: true });
    const [call] = await calls();
    expect(call[0]).toBe(
      `argv: [lint] [--quiet] [--namespace] [checkout-dev] [--values] [${root}/chart/values-dev.yaml] [--strict] [--] [${root}/chart]`,
    );
  });

  it('the attack works on helm given the name unchecked (control: the marker shows a post-renderer ran)', async () => {
    await exec(realHelm, [
      'template',
      `--post-renderer=${postRenderer}`,
      path.join(root, 'chart'),
    ]);
    await expect(fs.access(marker)).resolves.toBeUndefined();
  });

  it.each([
    ['--post-renderer=sh'],
    ['--post-renderer=/bin/sh'],
    ['--post-renderer'],
    ['-h'],
    ['--values=/etc/passwd'],
    ['--debug'],
    ['checkout --post-renderer=sh'],
    ['checkout\n--post-renderer=sh'],
    ['Checkout'],
    ['check_out'],
    ['-checkout'],
    ['checkout-'],
    ['.checkout'],
    [''],
  ])(
    'refuses a release name that is a helm flag or no DNS-1123 name (%j), without starting helm',
    async releaseName => {
      const error = await refusal(
        helm.template(chart({ releaseName }), timeout),
      );

      expect(error.name).toBe('InputError');
      expect(error.message).toBe(
        `releaseName ${JSON.stringify(
          releaseName,
        )} is not a valid Helm release name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`,
      );
      expect(await calls()).toEqual([]);
    },
  );

  it('refuses --post-renderer=<script> as a release name: helm never starts, the script never runs', async () => {
    const releaseName = `--post-renderer=${postRenderer}`;
    const error = await refusal(helm.template(chart({ releaseName }), timeout));

    expect(error.name).toBe('InputError');
    expect(await calls()).toEqual([]);
    await expect(fs.access(marker)).rejects.toThrow('ENOENT');
  });

  it('refuses a release name of 54 characters (helm allows 53), and renders one of 53', async () => {
    const error = await refusal(
      helm.template(chart({ releaseName: 'a'.repeat(54) }), timeout),
    );
    expect(error.name).toBe('InputError');
    expect(error.message).toBe(
      `releaseName "${'a'.repeat(
        54,
      )}" is not a valid Helm release name: it has 54 characters, at most 53 are allowed`,
    );
    expect(await calls()).toEqual([]);

    const result = await helm.template(
      chart({ releaseName: 'a'.repeat(53) }),
      timeout,
    );
    expect(result.ok).toBe(true);
  });

  it.each([
    ['--post-renderer=sh'],
    [`--post-renderer=/bin/sh`],
    ['-n'],
    ['Checkout-Dev'],
    ['checkout.dev'],
    ['a'.repeat(64)],
    [''],
  ])(
    'refuses a namespace that is a helm flag or no DNS-1123 label (%j), for template and lint, without starting helm',
    async namespace => {
      for (const error of await refusedByTemplateAndLint({ namespace })) {
        expect(error.name).toBe('InputError');
        expect(error.message).toMatch(
          /^namespace ".*" is not a valid Kubernetes namespace: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit$/,
        );
      }
      expect(await calls()).toEqual([]);
    },
  );

  it('cuts a huge hostile value short in the message', async () => {
    const releaseName = `--post-renderer=sh${'x'.repeat(64 * 1024)}`;
    const error = await refusal(helm.template(chart({ releaseName }), timeout));
    expect(error.message.length).toBeLessThan(300);
  });

  it('refuses a values file outside the repository: /etc/passwd, ../../outside.yaml, a symlink out of it', async () => {
    await fs.symlink(
      path.join(outside, 'secret.yaml'),
      path.join(root, 'linked-secret.yaml'),
    );
    try {
      const cases: Array<[string, string]> = [
        [
          '/etc/passwd',
          `valueFiles "/etc/passwd" is not a file in the repository (a leading '/' is the repository root, as in Argo CD)`,
        ],
        [
          '../../outside.yaml',
          'valueFiles "../../outside.yaml" is outside the repository',
        ],
        [
          '../../../../../../../../etc/passwd',
          'valueFiles "../../../../../../../../etc/passwd" is outside the repository',
        ],
        [
          '../linked-secret.yaml',
          'valueFiles "../linked-secret.yaml" is outside the repository',
        ],
        [
          '/linked-secret.yaml',
          'valueFiles "/linked-secret.yaml" is outside the repository',
        ],
        [
          'https://127.0.0.1:9/values.yaml',
          'valueFiles "https://127.0.0.1:9/values.yaml" is not a file in the repository',
        ],
      ];
      for (const [file, message] of cases) {
        const errors = await refusedByTemplateAndLint({
          valueFiles: [file],
        });
        for (const error of errors) {
          expect(error.name).toBe('InputError');
          expect(error.message).toBe(message);
        }
      }
      expect(await calls()).toEqual([]);
    } finally {
      await fs.rm(path.join(root, 'linked-secret.yaml'));
    }
  });

  it('refuses a chart with a template, a values file or a directory that is a symlink out of the repository', async () => {
    const links: Array<[string, string]> = [
      ['chart/templates/leak.yaml', path.join(outside, 'secret.yaml')],
      ['chart/values-leak.yaml', path.join(outside, 'secret.yaml')],
      ['chart/files', outside],
      ['chart/templates/environ.yaml', '/proc/self/environ'],
      ['chart/templates/dangling.yaml', path.join(dir, 'no-such-file')],
    ];
    for (const [link, target] of links) {
      await fs.symlink(target, path.join(root, link));
      try {
        const error = await refusal(
          helm.template(chart({ releaseName: 'checkout' }), timeout),
        );
        expect(error.name).toBe('InputError');
        expect(error.message).toBe(
          `chartPath "chart" holds a symlink, ${JSON.stringify(
            link,
          )}, that leads ${
            link.includes('dangling') ? 'nowhere' : 'outside the repository'
          }`,
        );
      } finally {
        await fs.rm(path.join(root, link));
      }
    }
    expect(await calls()).toEqual([]);
  });

  it('refuses a chart directory outside the repository, directly or through a symlink', async () => {
    await fs.symlink(outside, path.join(root, 'linked-chart'));
    try {
      for (const chartPath of ['../outside', '/etc', 'linked-chart']) {
        const error = await refusal(
          helm.lint(chart({ chartPath, valueFiles: [] }), timeout),
        );
        expect(error.name).toBe('InputError');
        expect(error.message).toBe(
          `chartPath ${JSON.stringify(chartPath)} is outside the repository`,
        );
      }
      expect(await calls()).toEqual([]);
    } finally {
      await fs.rm(path.join(root, 'linked-chart'));
    }
  });

  it('follows symlinks that stay inside the repository', async () => {
    await fs.symlink(
      'configmap.yaml',
      path.join(root, 'chart/templates/alias.yaml'),
    );
    try {
      const result = await helm.template(
        chart({ releaseName: 'checkout' }),
        timeout,
      );
      expect(result.ok).toBe(true);
      expect(result.stdout).toContain('# Source: service/templates/alias.yaml');
    } finally {
      await fs.rm(path.join(root, 'chart/templates/alias.yaml'));
    }
  });

  it("runs helm in a fresh private home per call: neither the repository's config/ and data/plugins nor the backend's HELM_* variables reach it", async () => {
    const saved = { ...process.env };
    const userHelm = path.join(dir, 'user-helm');
    Object.assign(process.env, {
      HELM_CONFIG_HOME: path.join(userHelm, 'config'),
      HELM_DATA_HOME: path.join(userHelm, 'data'),
      HELM_PLUGINS: path.join(userHelm, 'data/plugins'),
      HELM_REPOSITORY_CONFIG: path.join(userHelm, 'config/repositories.yaml'),
      HELM_POST_RENDERER: postRenderer,
    });
    try {
      await helm.template(chart({ releaseName: 'checkout' }), timeout);
      await helm.lint(chart(), timeout);
    } finally {
      process.env = saved;
    }

    const seen = await calls();
    expect(seen).toHaveLength(2);
    const homes = seen.map(call => {
      const [, home, mode] = call
        .find(line => line.startsWith('home: '))!
        .split(' ');
      expect(mode).toBe('700');
      expect(call).toContain(`cwd: ${home}`);
      // helm's own directories are inside the home, and no other HELM_* variable passes.
      expect(call.filter(line => line.startsWith('HELM_'))).toEqual([
        `HELM_CACHE_HOME=${home}/cache`,
        `HELM_CONFIG_HOME=${home}/config`,
        `HELM_DATA_HOME=${home}/data`,
      ]);
      expect(call).toContain('plugins: NAME	VERSION	DESCRIPTION ');
      expect(call).toContain('repositories: Error: no repositories to show ');
      return home;
    });
    expect(new Set(homes).size).toBe(2);
    for (const home of homes) {
      expect(path.relative(root, home).startsWith('..')).toBe(true);
      await expect(fs.access(home)).rejects.toThrow('ENOENT');
    }
    await expect(fs.access(marker)).rejects.toThrow('ENOENT');
  });

  it('control: the wrapper would show a plugin and a repository in a home that has them', async () => {
    const { stdout: plugins } = await exec(realHelm, ['plugin', 'list'], {
      env: {
        PATH: process.env.PATH,
        HOME: root,
        HELM_DATA_HOME: path.join(root, 'data'),
        HELM_CONFIG_HOME: path.join(root, 'config'),
      },
    });
    expect(plugins).toContain('hostile-plugin');
    const { stdout: repos } = await exec(realHelm, ['repo', 'list'], {
      env: {
        PATH: process.env.PATH,
        HOME: root,
        HELM_DATA_HOME: path.join(root, 'data'),
        HELM_CONFIG_HOME: path.join(root, 'config'),
      },
    });
    expect(repos).toContain('hostile-repo');
  });

  it('keeps the missing-binary error', async () => {
    const missing = new HelmRunner(path.join(dir, 'no-such-helm'), true);
    await expect(
      missing.template(chart({ releaseName: 'checkout' }), timeout),
    ).rejects.toThrow(
      `Cannot run helm: "${path.join(
        dir,
        'no-such-helm',
      )}" (gitops.helm.command) was not found or is not executable.`,
    );
  });
});

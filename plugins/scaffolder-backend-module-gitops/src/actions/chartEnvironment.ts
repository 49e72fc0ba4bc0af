import { HelmRunner } from '@gitops-backstage/plugin-gitops-node';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { schemaProblems } from './chartSchemas';

/** How long one `helm lint` or `helm template` may take. */
const HELM_TIMEOUT_MS = 60_000;

/** An environment as the action validates it. */
export interface Environment {
  name: string;
  namespace: string;
  /** As given: relative to the chart. */
  valueFiles: string[];
  /** Absolute paths inside the workspace. */
  valueFilePaths: string[];
  /** `environment dev (values-dev.yaml)`, for messages. */
  label: string;
}

export interface EnvironmentResult {
  environment: string;
  objects: number;
  kinds: string[];
}

export async function validateEnvironment(options: {
  runner: HelmRunner;
  workspacePath: string;
  chartPath: string;
  env: Environment;
  releaseName: string;
  strict: boolean;
}): Promise<{
  problems: string[];
  warnings: string[];
  summary: string;
  output: EnvironmentResult;
}> {
  const { runner, workspacePath, chartPath, env, releaseName, strict } =
    options;
  const problems: string[] = [];
  const warnings: string[] = [];
  const output: EnvironmentResult = {
    environment: env.name,
    objects: 0,
    kinds: [],
  };
  const chart = {
    root: workspacePath,
    chartPath,
    // Relative to the chart, as the workspace paths checked above.
    valueFiles: env.valueFilePaths.map(file =>
      path.relative(path.resolve(workspacePath, chartPath), file),
    ),
    namespace: env.namespace,
  };
  const timeout = { timeoutMs: HELM_TIMEOUT_MS };
  const done = () => ({ problems, warnings, summary: '', output });

  // 1. helm lint
  const lint = await runner.lint({ ...chart, strict }, timeout);
  const lintLines = lines(lint.stdout);
  if (!lint.ok) {
    const flagged = lintLines.filter(line =>
      strict ? /^\[(ERROR|WARNING)\]/.test(line) : line.startsWith('[ERROR]'),
    );
    const quoted =
      flagged.length > 0
        ? flagged
        : lines(lint.stderr).filter(line => !/chart\(s\) linted/.test(line));
    problems.push(
      `helm lint${strict ? ' --strict' : ''} failed:\n${indent(quoted)}`,
    );
    return done();
  }
  warnings.push(...lintLines.filter(line => line.startsWith('[WARNING]')));

  // 2. helm template
  const template = await runner.template({ ...chart, releaseName }, timeout);
  if (!template.ok) {
    const quoted = lines(template.stderr).filter(
      line => !line.startsWith('Use --debug flag'),
    );
    problems.push(`helm template failed:\n${indent(quoted)}`);
    return done();
  }

  // 3. The schema of each rendered object
  const kinds = new Set<string>();
  const valid: string[] = [];
  const notValidated: string[] = [];
  for (const doc of parseAllDocuments(template.stdout)) {
    const source = sourceOf(doc);
    if (doc.errors.length > 0) {
      problems.push(
        `${source}: the rendered YAML does not parse: ${doc.errors[0].message}`,
      );
      continue;
    }
    const object = doc.toJS();
    if (object === null || object === undefined) continue;
    output.objects += 1;
    if (
      typeof object !== 'object' ||
      Array.isArray(object) ||
      typeof object.apiVersion !== 'string' ||
      typeof object.kind !== 'string'
    ) {
      problems.push(`${source}: a rendered object has no apiVersion and kind`);
      continue;
    }
    const { apiVersion, kind } = object as { apiVersion: string; kind: string };
    kinds.add(kind);
    const name = object.metadata?.name;
    const id = `${kind}/${typeof name === 'string' ? name : '(no name)'}`;
    const where = `${id} (${source})`;
    if (typeof name !== 'string' || !name) {
      problems.push(`${where}: /metadata/name is required`);
    }

    const schemaErrors = await schemaProblems(apiVersion, kind, object);
    if (!schemaErrors) {
      notValidated.push(id);
      warnings.push(
        `${where} not validated: no schema for ${apiVersion} ${kind}`,
      );
    } else if (schemaErrors.length === 0) {
      valid.push(id);
    } else {
      problems.push(...schemaErrors.map(message => `${where}: ${message}`));
    }
  }

  output.kinds = [...kinds].sort();
  const summary = [
    `helm lint passed, ${count(output.objects, 'object')} rendered${
      output.kinds.length > 0 ? ` (${output.kinds.join(', ')})` : ''
    }`,
    `${valid.length} valid`,
    ...(notValidated.length > 0
      ? [`${notValidated.length} not validated (${notValidated.join(', ')})`]
      : []),
  ].join(', ');
  return { problems, warnings, summary, output };
}
/** `templates/deployment.yaml`, from helm's `# Source: <chart>/templates/deployment.yaml`. */
function sourceOf(doc: {
  commentBefore?: string | null;
  contents?: unknown;
}): string {
  const comments = [
    doc.commentBefore,
    (doc.contents as { commentBefore?: string | null } | null)?.commentBefore,
  ].join('\n');
  const match = /Source: (\S+)/.exec(comments);
  if (!match) return 'rendered manifest';
  return match[1].split('/').slice(1).join('/') || match[1];
}
function lines(text: string) {
  return text
    .split('\n')
    .map(line => line.trim())
    .filter(Boolean);
}

function indent(quoted: string[]) {
  return quoted.map(line => `    ${line}`).join('\n');
}

export function count(n: number, noun: string) {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

import { ArgoError } from './errors';

type Requirement = (labels: Record<string, string>) => boolean;

/**
 * A Kubernetes label selector (`a=b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`,
 * comma-separated), as Argo CD's List `selector` parameter takes it.
 */
export function parseLabelSelector(selector: string): Requirement {
  const requirements: Requirement[] = [];
  // Split on commas outside parentheses.
  const parts = selector.match(/([^,(]|\([^)]*\))+/g) ?? [];
  for (const raw of parts) {
    const part = raw.trim();
    let match: RegExpMatchArray | null;
    if ((match = part.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/))) {
      const [, key, op, value] = match;
      requirements.push(labels =>
        op === '!=' ? labels[key] !== value : labels[key] === value,
      );
    } else if (
      (match = part.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/))
    ) {
      const [, key, op, list] = match;
      const values = list.split(',').map(v => v.trim());
      requirements.push(labels =>
        op === 'in'
          ? key in labels && values.includes(labels[key])
          : !(key in labels && values.includes(labels[key])),
      );
    } else if ((match = part.match(/^(!?)([\w./-]+)$/))) {
      const [, not, key] = match;
      requirements.push(labels => (not ? !(key in labels) : key in labels));
    } else {
      throw new ArgoError(
        'InvalidArgument',
        `error parsing labels: unable to parse requirement: "${part}"`,
      );
    }
  }
  return labels => requirements.every(requirement => requirement(labels));
}

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
    const equality = part.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/);
    const set = part.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/);
    const existence = part.match(/^(!?)([\w./-]+)$/);
    if (equality) {
      const [, key, op, value] = equality;
      requirements.push(labels =>
        op === '!=' ? labels[key] !== value : labels[key] === value,
      );
    } else if (set) {
      const [, key, op, list] = set;
      const values = list.split(',').map(v => v.trim());
      requirements.push(labels => {
        const inSet = key in labels && values.includes(labels[key]);
        return op === 'in' ? inSet : !inSet;
      });
    } else if (existence) {
      const [, not, key] = existence;
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

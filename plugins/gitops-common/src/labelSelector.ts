import { splitSelector } from './applicationLocator';

type Requirement = (labels: Record<string, string>) => boolean;

const EQUALITY = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/;
const SET = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/;
const EXISTENCE = /^(!?)([\w./-]+)$/;

function requirement(term: string): Requirement {
  const equality = term.match(EQUALITY);
  if (equality) {
    const [, key, op, value] = equality;
    return labels =>
      op === '!=' ? labels[key] !== value : labels[key] === value;
  }
  const set = term.match(SET);
  if (set) {
    const [, key, op, list] = set;
    const values = list.split(',').map(v => v.trim());
    return labels => {
      const inSet = key in labels && values.includes(labels[key]);
      return op === 'in' ? inSet : !inSet;
    };
  }
  const existence = term.match(EXISTENCE);
  if (existence) {
    const [, not, key] = existence;
    return labels => (not ? !(key in labels) : key in labels);
  }
  throw new Error(`unable to parse requirement: "${term}"`);
}

/**
 * Compiles a Kubernetes label selector (`a=b`, `a!=b`, `a in (x,y)`, `a notin (x)`,
 * `a`, `!a`, comma-separated) into a matcher of label sets. Throws on a term it
 * cannot parse.
 *
 * @public
 */
export function compileLabelSelector(
  selector: string,
): (labels: Record<string, string> | undefined) => boolean {
  const requirements = splitSelector(selector).filter(Boolean).map(requirement);
  return labels => requirements.every(r => r(labels ?? {}));
}

/**
 * The `key=value` terms of a selector, which every match must have: lets a caller look
 * up candidates in an index before matching.
 *
 * @public
 */
export function labelSelectorEqualities(
  selector: string,
): Array<[string, string]> {
  return splitSelector(selector).flatMap(term => {
    const equality = term.match(EQUALITY);
    return equality && equality[2] !== '!='
      ? [[equality[1], equality[3]] as [string, string]]
      : [];
  });
}

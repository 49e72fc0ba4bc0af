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

/**
 * The label keys a selector pins to values (`key=value`, `key==value`,
 * `key in (a, b)`): a selector with none (only `!key`, `key`, `!=`, `notin` terms)
 * matches Applications nobody chose, so it may show them but not act on them.
 *
 * @public
 */
export function labelSelectorPinnedKeys(selector: string): string[] {
  return splitSelector(selector).flatMap(term => {
    const equality = term.match(EQUALITY);
    if (equality)
      return equality[2] !== '!=' && equality[3] ? [equality[1]] : [];
    const set = term.match(SET);
    const values = set?.[3]
      .split(',')
      .map(v => v.trim())
      .filter(Boolean);
    return set && set[2] === 'in' && values!.length > 0 ? [set[1]] : [];
  });
}

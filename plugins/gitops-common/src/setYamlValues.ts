import {
  Document,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  Scalar,
} from 'yaml';

/**
 * A value that can be written into a YAML file.
 *
 * @public
 */
export type YamlValue =
  | string
  | number
  | boolean
  | null
  | YamlValue[]
  | { [key: string]: YamlValue };

/**
 * Raised when a key path or a file cannot take the requested values.
 *
 * @public
 */
export class InvalidValuesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidValuesError';
  }
}

/**
 * Splits a Helm-style key path (`image.tag`, `ingress.hosts.0.host`) into its
 * segments. A dot inside a key is escaped with a backslash, as `helm --set`
 * does: `podLabels.app\.kubernetes\.io/name`.
 *
 * @public
 */
export function parseKeyPath(keyPath: string): string[] {
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < keyPath.length; i++) {
    const char = keyPath[i];
    if (char === '\\' && keyPath[i + 1] === '.') {
      current += '.';
      i++;
    } else if (char === '.') {
      segments.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  segments.push(current);
  if (segments.some(segment => segment === '')) {
    throw new InvalidValuesError(
      `Invalid key path "${keyPath}": empty segment`,
    );
  }
  return segments;
}

/**
 * Sets values at key paths in a YAML text and returns the new text, keeping
 * everything else as it was: comments, key order, quoting and formatting.
 *
 * Replacing a scalar with a scalar rewrites only the characters of that value
 * (in its old quoting style), so the rest of the file stays byte for byte the
 * same. Anything else (a new key, a list or map value) goes through the yaml
 * Document API, which keeps comments and order but writes in its own style.
 * Missing parent maps are created; an index into an existing list addresses
 * that item.
 *
 * @public
 */
export function setYamlValues(
  source: string,
  values: Record<string, YamlValue>,
): string {
  return Object.entries(values).reduce(
    (text, [keyPath, value]) => setYamlValue(text, keyPath, value),
    source,
  );
}

function setYamlValue(source: string, keyPath: string, value: YamlValue) {
  const doc: Document = parseDocument(source);
  if (doc.errors.length > 0) {
    throw new InvalidValuesError(`Cannot parse YAML: ${doc.errors[0].message}`);
  }
  if (doc.contents === null) {
    doc.contents = doc.createNode({});
  } else if (!isMap(doc.contents)) {
    throw new InvalidValuesError('The YAML document must be a map at the top');
  }

  const path = parseKeyPath(keyPath).map((segment, index, all) =>
    toPathKey(doc, all.slice(0, index), segment, keyPath),
  );
  const current = doc.getIn(path, true);
  if (isScalar(current) && current.range && isInlineScalar(current, value)) {
    const [start, end] = current.range;
    return (
      source.slice(0, start) + stringifyLike(current, value) + source.slice(end)
    );
  }
  doc.setIn(path, value);
  return doc.toString({ lineWidth: 0 });
}

const INLINE_STYLES: Array<Scalar['type']> = [
  Scalar.PLAIN,
  Scalar.QUOTE_DOUBLE,
  Scalar.QUOTE_SINGLE,
];

function isInlineScalar(node: Scalar, value: YamlValue): boolean {
  return (
    INLINE_STYLES.includes(node.type) &&
    (value === null || typeof value !== 'object') &&
    !String(value).includes('\n')
  );
}

/** The value in the style of `like`; yaml quotes it where plain would misread. */
function stringifyLike(like: Scalar, value: YamlValue): string {
  const scalar = new Scalar(value);
  scalar.type = like.type;
  return new Document(scalar).toString({ lineWidth: 0 }).trimEnd();
}
/** A sequence is indexed by number; anything else by its string key. */
function toPathKey(
  doc: Document,
  parentPath: unknown[],
  segment: string,
  keyPath: string,
): string | number {
  const parent =
    parentPath.length === 0 ? doc.contents : doc.getIn(parentPath, true);
  if (parent !== undefined && parent !== null && !isCollection(parent)) {
    throw new InvalidValuesError(
      `Cannot set "${keyPath}": "${parentPath.join(
        '.',
      )}" is a scalar, not a map`,
    );
  }
  if (isSeq(parent)) {
    if (!/^\d+$/.test(segment)) {
      throw new InvalidValuesError(
        `Cannot set "${keyPath}": "${parentPath.join(
          '.',
        )}" is a list; "${segment}" is not an index`,
      );
    }
    return Number(segment);
  }
  return segment;
}

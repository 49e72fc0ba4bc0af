import fc from 'fast-check';
import { parse } from 'yaml';
import { parseKeyPath, setYamlValues } from './setYamlValues';

const valuesDev = `# Values for the dev environment.
replicaCount: 1 # one is enough in dev

image:
  repository: registry.example.com/checkout/service-a
  # Bumped by CI on every build of main.
  tag: "3f2a9c1"

ingress:
  hosts:
  - host: service-a.dev.example.com
    paths: [/]
podAnnotations: {prometheus.io/scrape: 'true'}
`;

describe('setYamlValues', () => {
  it('changes only the value, keeping comments, order and quoting', () => {
    const updated = setYamlValues(valuesDev, { 'image.tag': '9b8e7d6' });

    expect(updated).toBe(valuesDev.replace('"3f2a9c1"', '"9b8e7d6"'));
  });

  it('writes a new value in the old quoting style', () => {
    const updated = setYamlValues(valuesDev, {
      'podAnnotations.prometheus\\.io/scrape': 'false',
      'image.repository': 'ghcr.io/acme/service-a',
    });

    expect(updated).toBe(
      valuesDev
        .replace("'true'", "'false'")
        .replace(
          'registry.example.com/checkout/service-a',
          'ghcr.io/acme/service-a',
        ),
    );
  });

  it('keeps a trailing comment on a replaced value', () => {
    const updated = setYamlValues(valuesDev, { replicaCount: 2 });

    expect(updated).toContain('replicaCount: 2 # one is enough in dev');
  });

  it('quotes a tag that would otherwise read as a number', () => {
    const updated = setYamlValues('image:\n  tag: latest\n', {
      'image.tag': '1.10',
    });

    expect(updated).toBe('image:\n  tag: "1.10"\n');
    expect(parse(updated).image.tag).toBe('1.10');
  });

  it('creates missing maps, and the document when empty', () => {
    expect(
      parse(
        setYamlValues('', {
          'nodeSelector.kubernetes\\.io/hostname': 'edge-7',
        }),
      ),
    ).toEqual({ nodeSelector: { 'kubernetes.io/hostname': 'edge-7' } });
  });

  it('addresses list items by index', () => {
    const updated = setYamlValues(valuesDev, {
      'ingress.hosts.0.host': 'service-a.example.com',
    });

    expect(parse(updated).ingress.hosts[0]).toEqual({
      host: 'service-a.example.com',
      paths: ['/'],
    });
  });

  it('refuses to descend into a scalar or to index a list by name', () => {
    expect(() => setYamlValues(valuesDev, { 'image.tag.x': 'y' })).toThrow(
      'Cannot set "image.tag.x": "image.tag" is a scalar, not a map',
    );
    expect(() =>
      setYamlValues(valuesDev, { 'ingress.hosts.first': 'y' }),
    ).toThrow('"ingress.hosts" is a list; "first" is not an index');
  });

  it('refuses malformed YAML, a non-map document and empty key segments', () => {
    expect(() => setYamlValues('image: [unclosed\n', { a: 1 })).toThrow(
      'Cannot parse YAML',
    );
    expect(() => setYamlValues('- a\n- b\n', { a: 1 })).toThrow(
      'must be a map at the top',
    );
    expect(() => setYamlValues(valuesDev, { 'image..tag': 'x' })).toThrow(
      'Invalid key path "image..tag": empty segment',
    );
  });

  it('sets every value and keeps every comment, for any keys and values', () => {
    const segment = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_-]{0,8}$/);
    const scalar = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    );
    const keyPath = fc.array(segment, { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(keyPath, scalar), {
          minLength: 1,
          maxLength: 6,
          selector: ([path]) => path[0],
        }),
        entries => {
          // Top-level keys are unique and new, so no path runs through another.
          const values = Object.fromEntries(
            entries.map(([path, value]) => [`new_${path.join('.')}`, value]),
          );
          const updated = setYamlValues(valuesDev, values);
          const parsed = parse(updated);
          for (const [path, value] of entries) {
            const [first, ...rest] = path;
            const found = rest.reduce(
              (node, key) => node?.[key],
              parsed[`new_${first}`],
            );
            expect(found).toEqual(value);
          }
          for (const comment of valuesDev.match(/#.*$/gm)!) {
            expect(updated).toContain(comment);
          }
          expect(parsed.image).toEqual(parse(valuesDev).image);
        },
      ),
    );
  });
});

describe('parseKeyPath', () => {
  it('splits on unescaped dots', () => {
    expect(parseKeyPath('a.b\\.c.d')).toEqual(['a', 'b.c', 'd']);
  });
});

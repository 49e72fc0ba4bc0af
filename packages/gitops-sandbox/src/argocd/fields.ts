type Json = any;

function pick(source: Json, path: string[], target: Json) {
  const [head, ...rest] = path;
  if (source === null || typeof source !== 'object' || !(head in source))
    return;
  if (rest.length === 0) {
    target[head] = source[head];
    return;
  }
  target[head] ??= {};
  pick(source[head], rest, target[head]);
}

function omit(target: Json, path: string[]) {
  const [head, ...rest] = path;
  if (target === null || typeof target !== 'object' || !(head in target))
    return;
  if (rest.length === 0) delete target[head];
  else omit(target[head], rest);
}

/**
 * The `fields` projection of Argo CD's application List: a comma-separated list of
 * item field paths (`metadata.name`, `status.sync.status`; an `items.` prefix is
 * accepted) to keep, or, with a leading `-`, to drop.
 */
export function projectList(list: Json, fields: string): Json {
  const paths = fields
    .split(',')
    .map(field => field.trim())
    .filter(Boolean);
  const exclude = paths[0]?.startsWith('-');
  const itemPaths = paths.map(field =>
    field
      .replace(/^-/, '')
      .replace(/^items\./, '')
      .split('.'),
  );
  const items = list.items.map((item: Json) => {
    if (exclude) {
      const copy = structuredClone(item);
      itemPaths.forEach(path => omit(copy, path));
      return copy;
    }
    const kept = {};
    itemPaths.forEach(path => pick(item, path, kept));
    return kept;
  });
  return { ...list, items };
}

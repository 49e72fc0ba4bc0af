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

/**
 * The `fields` projection of Argo CD's streams (its forwarder's marshaler, applied to
 * every chunk, `{"result": …}` and `{"error": …}` alike): paths are from the chunk's
 * top, so `result.application.metadata.name`. A key is kept when a field starts with
 * its path (a plain string prefix, as upstream), and its value whole when the path is
 * a field; with a leading `-`, only the named paths go. Arrays apply the same paths to
 * each element. Answers a projected copy (of the JSON, as upstream re-reads it).
 */
export function projectChunk(chunk: Json, fields: string): Json {
  const exclude = fields.startsWith('-');
  const named = new Set((exclude ? fields.slice(1) : fields).split(','));
  const visit = (path: string[], item: Json) => {
    if (Array.isArray(item)) {
      item.forEach(element => visit(path, element));
      return;
    }
    if (item === null || typeof item !== 'object') return;
    for (const key of Object.keys(item)) {
      const fieldPath = [...path, key].join('.');
      const exact = named.has(fieldPath);
      const prefix =
        exact || [...named].some(field => field.startsWith(fieldPath));
      if (exclude ? !exact : prefix) {
        if (!exact) visit([...path, key], item[key]);
      } else {
        delete item[key];
      }
    }
  };
  const copy = JSON.parse(JSON.stringify(chunk));
  visit([], copy);
  return copy;
}

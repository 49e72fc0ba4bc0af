import { useState } from 'react';

let count = 0;

/** An id unique in the page, for one element to name another (`aria-labelledby`). */
export function useElementId(prefix: string): string {
  const [id] = useState(() => `${prefix}-${++count}`);
  return id;
}

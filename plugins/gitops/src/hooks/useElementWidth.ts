import { RefObject, useLayoutEffect, useState } from 'react';

/**
 * The width of an element, kept current as it resizes; undefined until measured, and
 * where the browser cannot tell (no layout, as in jsdom).
 */
export function useElementWidth(ref: RefObject<HTMLElement>) {
  const [width, setWidth] = useState<number>();
  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return undefined;
    // Measured before the first paint, so a narrow screen does not see the wide layout flash.
    const measure = () =>
      setWidth(element.getBoundingClientRect().width || undefined);
    measure();
    if (typeof ResizeObserver === 'undefined') return undefined;
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

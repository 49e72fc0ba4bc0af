export interface Reading {
  sensor: string;
  celsius: number;
}

/** Average temperature per sensor, sorted by sensor. */
export function transform(readings: Reading[]) {
  const totals = new Map<string, { total: number; count: number }>();
  for (const r of readings) {
    const t = totals.get(r.sensor) ?? { total: 0, count: 0 };
    totals.set(r.sensor, { total: t.total + r.celsius, count: t.count + 1 });
  }
  return [...totals.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([sensor, { total, count }]) => ({
      sensor,
      averageCelsius: Math.round((total / count) * 100) / 100,
    }));
}

/**
 * The homepage's charts: builds and downloads per hour over the last day, as inline SVG (bar
 * geometry computed here, drawn by the `chart` template), so the page needs no script or
 * external asset. The scribe keeps the samples from each HOME message in a {@link HomeSamples}.
 * @module
 */

const HOUR = 3_600_000;

/** One HOME sample: builds and downloads in the hour before `time`. */
export interface StatsSample {
  time: Date;
  builds: number;
  downloads: number;
}

/** The last day of samples (plus an hour, so the oldest bucket is complete). */
export class HomeSamples {
  readonly #samples: StatsSample[] = [];

  /** Add a sample; samples older than 25 hours are dropped. */
  add(sample: StatsSample): void {
    this.#samples.push(sample);
    const oldest = sample.time.getTime() - 25 * HOUR;
    while (this.#samples.length && this.#samples[0].time.getTime() < oldest) this.#samples.shift();
  }

  /** The samples kept, oldest first. */
  get samples(): readonly StatsSample[] {
    return this.#samples;
  }

  /**
   * 24 hourly values of `key` ending at `now`, oldest first: each hour's last sample (a count
   * over the hour before it), or null for an hour without samples.
   */
  hourly(key: "builds" | "downloads", now: Date): (number | null)[] {
    const end = now.getTime();
    const buckets: (number | null)[] = new Array(24).fill(null);
    for (const s of this.#samples) {
      const age = end - s.time.getTime();
      if (age < 0 || age >= 24 * HOUR) continue;
      buckets[23 - Math.floor(age / HOUR)] = s[key];
    }
    return buckets;
  }
}

/** A bar of a chart, in SVG user units. */
export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
  /** Tooltip: which hour and the value. */
  label: string;
}

/** What the `chart` template draws. */
export interface ChartView {
  title: string;
  width: number;
  height: number;
  /** Height of the plot area (the baseline's y). */
  baseline: number;
  bars: Bar[];
  /** The largest value, labelled at the top of the axis. */
  max: number;
  /** Whether there is anything to draw. */
  empty: boolean;
}

const WIDTH = 480;
const HEIGHT = 160;
const BASELINE = 140;
const LEFT = 40;

/** The geometry of a 24-bar chart of `values` (oldest first); null values draw no bar. */
export function hourlyChart(title: string, values: (number | null)[]): ChartView {
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  const slot = (WIDTH - LEFT) / values.length;
  const bars: Bar[] = [];
  values.forEach((value, i) => {
    if (value === null) return;
    const height = max > 0 ? Math.round((value / max) * (BASELINE - 10) * 10) / 10 : 0;
    bars.push({
      x: Math.round((LEFT + i * slot + 1) * 10) / 10,
      y: Math.round((BASELINE - height) * 10) / 10,
      width: Math.round((slot - 2) * 10) / 10,
      height,
      label: `${values.length - i} h ago: ${value}`,
    });
  });
  return {
    title,
    width: WIDTH,
    height: HEIGHT,
    baseline: BASELINE,
    bars,
    max,
    empty: bars.length === 0,
  };
}

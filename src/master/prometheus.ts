/**
 * Prometheus' text exposition format (version 0.0.4): metric families with HELP and TYPE lines
 * and one line per sample, names and label values escaped as the format requires.
 * @module
 */

/** The content type of a page in this format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** One sample of a family: its labels (none for a single value) and value. */
export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

/** A metric family: every sample of one metric name. */
export interface MetricFamily {
  name: string;
  help: string;
  type: "gauge" | "counter";
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

const escapeHelp = (text: string) => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabel = (text: string) =>
  text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** The page for `families`; throws on a name or label name the format does not allow. */
export function renderMetrics(families: MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    if (!NAME.test(family.name)) throw new Error(`invalid metric name ${family.name}`);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels ?? {}).map(([key, value]) => {
        if (!LABEL.test(key)) throw new Error(`invalid label name ${key} of ${family.name}`);
        return `${key}="${escapeLabel(value)}"`;
      });
      const suffix = labels.length ? `{${labels.join(",")}}` : "";
      lines.push(`${family.name}${suffix} ${formatValue(sample.value)}`);
    }
  }
  return lines.join("\n") + "\n";
}
